#include "wshub/name_index.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <vector>

using namespace wshub;

namespace {

struct member {
    int id;
    name_index<member>::membership place;
};

std::vector<int> ids(const name_index<member>& index, std::string_view name) {
    std::vector<int> out;
    for (const auto& e : index.find(name))
        out.push_back(e.member->id);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(name_index_bookkeeping)

BOOST_AUTO_TEST_CASE(members_are_found_by_name_and_leave_in_any_order) {
    name_index<member> index;
    std::vector<std::unique_ptr<member>> members;
    for (int i = 0; i < 6; ++i) {
        members.push_back(std::make_unique<member>(member{i, {}}));
        index.add(i % 2 == 0 ? "even" : "odd", *members.back(), members.back()->place);
    }
    BOOST_TEST(ids(index, "even") == (std::vector<int>{0, 2, 4}), boost::test_tools::per_element());
    BOOST_TEST(ids(index, "none").empty());
    BOOST_TEST(index.names() == 2u);

    // Removing from the middle moves the last member into the hole; its place follows.
    index.remove(members[2]->place);
    BOOST_TEST(!members[2]->place.joined());
    BOOST_TEST(ids(index, "even") == (std::vector<int>{0, 4}), boost::test_tools::per_element());
    index.remove(members[4]->place);
    index.remove(members[0]->place);
    BOOST_TEST(ids(index, "even").empty());
    BOOST_TEST(index.names() == 1u); // an empty name is forgotten
    index.remove(members[0]->place); // twice is harmless
    BOOST_TEST(members[1]->place.name() == "odd");
    for (int i : {3, 1, 5})
        index.remove(members[i]->place);
    BOOST_TEST(index.names() == 0u);
}

BOOST_AUTO_TEST_CASE(many_names_survive_rehashing) {
    name_index<member> index;
    std::vector<std::unique_ptr<member>> members;
    for (int i = 0; i < 1000; ++i) {
        members.push_back(std::make_unique<member>(member{i, {}}));
        index.add("n" + std::to_string(i % 100), *members.back(), members.back()->place);
    }
    BOOST_TEST(index.names() == 100u);
    BOOST_TEST(index.find("n7").size() == 10u);
    for (int i = 0; i < 1000; i += 2)
        index.remove(members[i]->place);
    for (int i = 1; i < 1000; i += 2)
        BOOST_TEST(members[i]->place.name() == "n" + std::to_string(i % 100));
    BOOST_TEST(index.names() == 50u);
}

BOOST_AUTO_TEST_SUITE_END()
