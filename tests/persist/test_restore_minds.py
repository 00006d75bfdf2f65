"""A restart and the mind: lucidity, the fraction carried and the time spent in a room, the
cooldowns of prayer, the counts of creatures seen, a catatonia's time and an effort to ground
someone all survive it, through the real snapshot and writer; phantoms do not (they were never
real)."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from components.body import Identity
from components.mind import (
    Catatonia,
    Devotions,
    Encounters,
    Grounding,
    Lucidity,
    LucidityDrift,
    Phantom,
)
from systems.hallucinations import HallucinationSettings
from systems.lucidity import reckoned_lucidity, set_lucidity
from systems.phantoms import conjure
from systems.presence import CorePresence
from tests.persist.test_restore import Saver
from tests.persist.test_restore_combat import restarted
from tests.systems.arena import arena, errors

MIND_TYPES = (Lucidity, LucidityDrift, Devotions, Encounters, Catatonia, Grounding)


def test_every_part_of_a_mind_survives_a_restart_but_its_phantoms(db: sa.Engine) -> None:
    calm = HallucinationSettings(entering_chance=0.0, fractured_chance=0.0, deranged_chance=0.0)
    stage = arena(rules={"hallucinations": calm})
    world = stage.world
    saver = Saver(stage.engine, db)
    armitage = stage.player("Armitage", "ward")  # sees the orderly there
    carter, dyer = stage.player("Carter", "cellar"), stage.player("Dyer", "cellar")
    wilmarth = stage.player("Wilmarth", "cellar")
    stage.tick()
    set_lucidity(world, armitage, 60)
    assert errors(stage.type(armitage, "pray")) == []
    set_lucidity(world, carter, -5)
    stage.tick()
    stage.run_s(150.0)  # ten game minutes in the haunted cellar (-0.4), with Dyer's company
    lost_so_far = 100 - reckoned_lucidity(world, wilmarth)  # (+0.1) and catatonic Carter's (-0.2)
    assert lost_so_far == pytest.approx(10 * (0.4 - 0.1 + 0.2), abs=0.05)
    stage.type(wilmarth, "quit")  # the fraction and the time there are saved as it leaves
    assert errors(stage.type(dyer, "ground carter")) == []
    phantom = conjure(
        world, armitage, stage.room("ward"), Identity("a pale child"), 6, 1e6, "figure"
    )
    assert world.has(phantom, Phantom)
    saved = {  # (copies: a component compared after the restart must be as it was saved)
        world.stable_id(body): {t: copy.copy(world.try_get(body, t)) for t in MIND_TYPES}
        for body in (armitage, carter, dyer, wilmarth)
    }
    assert saved[world.stable_id(armitage)][Encounters] == Encounters((("orderly", 1),))
    assert saved[world.stable_id(carter)][Catatonia] is not None
    assert saved[world.stable_id(dyer)][Grounding] is not None
    drift = world.get(wilmarth, LucidityDrift)
    assert drift.here_s > 149.0 and drift.fraction != 0.0

    again = restarted(stage, saver, db)
    after = again.world
    for sid, parts in saved.items():
        assert sid is not None
        body = after.entity_of(sid)
        assert body is not None
        assert {t: after.try_get(body, t) for t in MIND_TYPES} == parts
    assert after.count(Phantom) == 0
    assert after.entity_of(world.stable_id(phantom) or 0) is None

    # And they carry on: the effort ends when it was due, the cooldown stays, Wilmarth comes
    # back to the cellar as used to it as it left.
    back = {name: after.entity_of(world.stable_id(body) or 0) for name, body in
            (("armitage", armitage), ("carter", carter), ("wilmarth", wilmarth))}  # fmt: skip
    assert all(body is not None for body in back.values())
    grounding = world.get(dyer, Grounding)
    again.run_until(lambda: after.get(back["carter"] or 0, Lucidity).value >= 1, limit_s=12.0)
    assert again.now_s == pytest.approx(grounding.done_at_s, abs=0.11)
    assert errors(again.type(back["armitage"] or 0, "pray")) == ["on_cooldown"]
    wilmarth_again = back["wilmarth"] or 0
    CorePresence().enter_world(after, wilmarth_again)
    again.tick()
    start = reckoned_lucidity(after, wilmarth_again)
    again.run_s(15.0)  # a game minute, at the 25 % resistance of ten minutes there, and with
    # Dyer's company and deranged Carter's
    lost = start - reckoned_lucidity(after, wilmarth_again)
    assert lost == pytest.approx(0.4 * 0.75 - 0.1 + 0.2, abs=0.01)
