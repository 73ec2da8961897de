// wshub's browser client: a plain ES module, no dependencies. Served by wshub at /wshub.js.
//
//   import { WshubClient } from '/wshub.js';
//   const hub = new WshubClient({ userId: 'alice', channels: ['news'] });
//   hub.addEventListener('message', (e) => console.log(e.detail.seq, e.detail.channel, e.detail.data));
//   hub.addEventListener('gap', () => reloadFromBackend());
//   hub.connect();
//
// It asks for the JSON envelope, remembers the last seq of every stream (the all-clients stream,
// channel null, and each channel) and the hub's epoch, and when the connection is lost it
// reconnects with since= those positions, so a page that was away for a few seconds misses
// nothing and sees nothing twice.
//
// Events (detail):
//   'state'   {state, previous, code, reason}: state is 'connecting', 'open' (the hub's join frame
//             came), 'reconnecting' (waiting or trying again) or 'closed' (for good; code and
//             reason of the close that ended it).
//   'message' {seq, channel, data, binary, replayed}: data is a string, or a Uint8Array when
//             binary; replayed is true for what the hub had kept from before this connection.
//   'gap'     {channel, since, oldest}: recovery gave up for that stream (the hub no longer keeps
//             what was missed, or it restarted): reload that state from your backend. Messages
//             go on from `oldest`.
//
// Reconnects after any close except: close() by the page; 4002 (POST /api/disconnect: the backend
// put this user out, coming back would undo it); 4001 (token expired) when `token` is a string,
// since the same token would be refused again; give a function instead and it is asked for a
// fresh token before every connection. A refused upgrade (a bad channel name, a wrong token)
// looks to a browser like a lost connection, so it is retried with the same backoff.

const FINAL_CLOSE_CODES = new Set([4002]);
const TOKEN_EXPIRED = 4001;

export class WshubClient extends EventTarget {
  // url: the hub's base URL (ws:// or wss://), by default this page's host.
  // token: a string, or a function (may be async) returning one, sent as token=.
  // backoff: reconnect delays in ms; attempt n waits a random time between min and
  // min(max, min * 2^(n+1)) (full jitter above a floor, so a hub restart does not bring every
  // page back at once).
  constructor({ url, userId, channels = [], token, backoff = {} } = {}) {
    super();
    this.url = url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
    this.userId = userId ?? null; // may be left out when the token names the user
    this.channels = [...channels];
    this.token = token;
    this.backoff = { min: backoff.min ?? 500, max: backoff.max ?? 30000 };
    this.state = 'closed';
    this.epoch = null;
    this.lastSeq = new Map(); // stream (null or channel) -> last seq received
    this.joinSeq = new Map(); // stream -> its position when this connection joined
    this.attempt = 0;
    this.ws = null;
    this.opening = false; // waiting for the token function: no second connection meanwhile
    this.timer = null;
    this.generation = 0; // bumped by close(): late callbacks of an old socket are ignored
  }

  // Connects; while 'reconnecting', tries again now instead of waiting out the backoff.
  connect() {
    if (this.state === 'open' || this.ws || this.opening) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.state === 'closed') this.setState('connecting');
    this.open(this.generation);
  }

  close(code = 1000, reason = '') {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    this.opening = false;
    if (ws) ws.close(code, reason);
    this.setState('closed', { code, reason });
  }

  // Sends a raw payload (string, ArrayBuffer, Blob or typed array), as any client does.
  send(data) {
    if (this.state !== 'open') throw new Error(`wshub: cannot send while ${this.state}`);
    this.ws.send(data);
  }

  async open(generation) {
    let token = this.token;
    if (typeof token === 'function') {
      this.opening = true;
      try {
        token = await token();
      } catch (e) {
        if (generation !== this.generation) return;
        this.opening = false;
        this.lost({ code: 0, reason: `token: ${e?.message ?? e}` });
        return;
      }
      if (generation !== this.generation) return;
      this.opening = false;
    }
    const ws = new WebSocket(this.endpoint(token));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (e) => {
      if (generation === this.generation && this.ws === ws) this.receive(e.data);
    };
    ws.onclose = (e) => {
      if (generation !== this.generation || this.ws !== ws) return;
      this.ws = null;
      this.lost({ code: e.code, reason: e.reason });
    };
  }

  endpoint(token) {
    // Percent-encoded by hand: URLSearchParams writes a space as '+', which is a '+' to the hub.
    const q = [];
    const add = (name, value) => q.push(`${name}=${encodeURIComponent(value)}`);
    if (this.userId !== null) add('user_id', this.userId);
    if (this.channels.length) add('channels', this.channels.join(','));
    add('envelope', 'json');
    if (token) add('token', token);
    // Every stream is named: a bare SEQ also stands for the channels the list leaves out. The
    // hub splits CHANNEL:SEQ at the last colon, so channel names with colons are fine.
    if (this.lastSeq.has(null) && this.channels.every((c) => this.lastSeq.has(c))) {
      const named = this.channels.map((c) => `${c}:${this.lastSeq.get(c)}`);
      add('since', [String(this.lastSeq.get(null)), ...named].join(','));
      add('epoch', this.epoch);
    }
    return `${this.url.replace(/\/+$/, '')}/im?${q.join('&')}`;
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not an envelope: nothing this client can place in a stream
    }
    if (frame.type === 'join') return this.joined(frame);
    if (frame.type === 'gap') {
      // What the hub sends next in that stream starts at `oldest`, whatever this client had.
      this.lastSeq.set(frame.channel ?? null, Math.max(0, (frame.oldest ?? 1) - 1));
      const detail = { channel: frame.channel ?? null, since: frame.since, oldest: frame.oldest };
      this.dispatchEvent(new CustomEvent('gap', { detail }));
      return;
    }
    const stream = frame.channel ?? null;
    const last = this.lastSeq.get(stream) ?? 0;
    if (!(frame.seq > last)) return; // seen already: a replay must never show a message twice
    this.lastSeq.set(stream, frame.seq);
    const data = frame.binary ? Uint8Array.from(atob(frame.data), (c) => c.charCodeAt(0)) : frame.data;
    const replayed = frame.seq <= (this.joinSeq.get(stream) ?? 0);
    const detail = { seq: frame.seq, channel: stream, data, binary: !!frame.binary, replayed };
    this.dispatchEvent(new CustomEvent('message', { detail }));
  }

  joined(frame) {
    // Another epoch (the hub restarted): the old numbers mean nothing now; the hub sends a gap
    // notice for each stream and replays what the new process kept, from seq 1 on.
    if (this.epoch !== null && frame.epoch !== this.epoch) {
      this.lastSeq = new Map([...this.lastSeq.keys()].map((stream) => [stream, 0]));
    }
    this.epoch = frame.epoch;
    this.joinSeq = new Map([[null, frame.seq], ...Object.entries(frame.channels ?? {})]);
    // A stream seen for the first time starts at the join point: the hub sends what follows it.
    for (const [stream, seq] of this.joinSeq) if (!this.lastSeq.has(stream)) this.lastSeq.set(stream, seq);
    this.attempt = 0; // the hub admitted us: the next loss starts the backoff over
    this.setState('open');
  }

  lost({ code, reason }) {
    const final = FINAL_CLOSE_CODES.has(code) || (code === TOKEN_EXPIRED && typeof this.token !== 'function');
    if (final) {
      this.generation++;
      this.setState('closed', { code, reason });
      return;
    }
    const ceiling = Math.min(this.backoff.max, this.backoff.min * 2 ** (this.attempt + 1));
    const delay = this.backoff.min + Math.random() * Math.max(0, ceiling - this.backoff.min);
    this.attempt++;
    const generation = this.generation;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (generation === this.generation && !this.ws && !this.opening) this.open(generation);
    }, delay);
    this.setState('reconnecting', { code, reason });
  }

  setState(state, { code = null, reason = '' } = {}) {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, previous, code, reason } }));
  }
}
