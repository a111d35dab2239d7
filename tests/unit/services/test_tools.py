from collections import Counter

from bot.domain.tools import default_content_dir, load_library
from bot.services.tools import rotation_pick

LIBRARY = load_library(default_content_dir())


def test_rotation_cycles_the_four_points_in_order():
    points = [rotation_pick(LIBRARY, held) for held in range(8)]
    for held, tool in enumerate(points):
        assert (held % 4) + 1 in tool.points


def test_rotation_meets_every_tool_of_a_point_in_turn():
    urges = LIBRARY.by_point(2)
    picks = [rotation_pick(LIBRARY, 1 + 4 * turn) for turn in range(len(urges))]
    assert Counter(tool.slug for tool in picks) == Counter(tool.slug for tool in urges)
