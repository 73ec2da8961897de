// Members by name (a shard's connections by user id, and by channel): finding a name's members
// costs the same among ten connections as among a hundred thousand, and a member leaves in O(1)
// through the membership it holds. Pure bookkeeping for one thread, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wshub {

template <class Member>
class name_index {
  public:
    struct entry;
    // A member's place under one name. It must stay at the same address while it is in the
    // index (the index updates it when another member leaves), and be removed before it dies.
    class membership {
      public:
        bool joined() const noexcept { return node_ != nullptr; }
        const std::string& name() const noexcept { return node_->first; }

      private:
        friend class name_index;
        std::pair<const std::string, std::vector<entry>>* node_ = nullptr;
        std::size_t position_ = 0;
    };
    struct entry {
        Member* member;
        membership* place;
    };

    void add(std::string_view name, Member& m, membership& place) {
        auto it = by_name_.find(name);
        if (it == by_name_.end()) it = by_name_.emplace(std::string(name), std::vector<entry>{}).first;
        place.node_ = &*it;
        place.position_ = it->second.size();
        it->second.push_back(entry{&m, &place});
    }

    void remove(membership& place) {
        if (!place.node_) return;
        auto& members = place.node_->second;
        members[place.position_] = members.back();
        members[place.position_].place->position_ = place.position_;
        members.pop_back();
        if (members.empty()) by_name_.erase(place.node_->first);
        place.node_ = nullptr;
    }

    // The members under `name`, or none. Valid until the index next changes.
    const std::vector<entry>& find(std::string_view name) const {
        auto it = by_name_.find(name);
        return it == by_name_.end() ? no_members_ : it->second;
    }

    // Calls f(name, members) for every name with members.
    template <class F>
    void for_each(F f) const {
        for (const auto& [name, members] : by_name_)
            f(name, members);
    }

    std::size_t names() const noexcept { return by_name_.size(); }

  private:
    // Lookups by string_view without building a std::string.
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<entry>, hash, std::equal_to<>> by_name_;
    inline static const std::vector<entry> no_members_{};
};

} // namespace wshub
