import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import lhyrl
from lhyrl.envs import DRIVING_IDS
from lhyrl.experts import DrivingExpert


def make_vec(env_id: str, n: int) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_vector_env_steps_like_single_envs_seeded_consecutively(env_id):
    n = 3
    venv = make_vec(env_id, n)
    singles = [gym.make(env_id) for _ in range(n)]
    vec_obs, _ = venv.reset(seed=7)
    obs = np.stack([env.reset(seed=7 + i)[0] for i, env in enumerate(singles)])
    np.testing.assert_array_equal(vec_obs, obs)
    venv.action_space.seed(0)
    running = np.ones(n, dtype=bool)
    for _ in range(150):
        actions = venv.action_space.sample()
        vec_obs, rewards, terminated, truncated, _ = venv.step(actions)
        for i, env in enumerate(singles):
            if not running[i]:
                continue
            o, r, te, tr, _ = env.step(actions[i])
            np.testing.assert_array_equal(o, vec_obs[i])
            assert r == rewards[i] and te == terminated[i] and tr == truncated[i]
            running[i] = not (te or tr)
        if not running.any():
            break
    assert not running.all()  # random driving ends some episodes within 150 steps


def test_vector_env_autoresets_on_the_next_step():
    venv = make_vec("lhyrl/Driving-v0", 2)
    venv.reset(seed=0)
    full_left = np.array([[1.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    for _ in range(100):
        obs, rewards, terminated, _, info = venv.step(full_left)
        if terminated[0]:
            break
    assert terminated[0] and info["left_road"][0] and rewards[0] < -5
    obs, rewards, terminated, _, info = venv.step(full_left)
    assert rewards[0] == 0.0 and not terminated[0] and not info["_crashed"][0]
    assert obs[0][0] > 0.6  # a fresh start at 20-25 m/s, centred in a lane
    assert abs(obs[0][2]) < 1e-6


def test_make_vec_uses_the_native_vector_env_by_default():
    venv = gym.make_vec("lhyrl/Driving-v0", num_envs=4)
    assert type(venv.unwrapped).__name__ == "DrivingVectorEnv"
    assert venv.observation_space.shape == (4, 39)


def test_reward_is_the_sum_of_its_terms_in_info():
    env = gym.make("lhyrl/Driving-v0")
    env.reset(seed=1)
    for _ in range(30):
        _, reward, terminated, _, info = env.step(env.action_space.sample())
        terms = sum(v for k, v in info.items() if k.startswith("reward_"))
        assert reward == pytest.approx(terms)
        if terminated:
            break


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_expert_finishes_95_percent_of_episodes_without_collision_single_env(env_id):
    env = gym.make(env_id)
    expert = DrivingExpert(env)
    failures = 0
    for seed in range(20):
        obs, _ = env.reset(seed=1000 + seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(expert(obs[None])[0])
            done = terminated or truncated
        failures += info["crashed"] or info["left_road"]
    assert failures <= 1  # 95% of 20


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_expert_finishes_95_percent_of_episodes_without_collision_vector_env(env_id):
    n = 64
    venv = make_vec(env_id, n)
    expert = DrivingExpert(venv)
    obs, _ = venv.reset(seed=2000)
    finished = np.zeros(n, dtype=bool)
    failed = np.zeros(n, dtype=bool)
    while not finished.all():
        obs, _, terminated, truncated, info = venv.step(expert(obs))
        first = (terminated | truncated) & ~finished
        failed |= first & (info["crashed"] | info["left_road"])
        finished |= first
    assert failed.mean() <= 0.05


def test_expert_drives_much_better_than_random():
    env = gym.make("lhyrl/Driving-v0")
    expert = DrivingExpert(env)
    env.action_space.seed(0)

    def episode_return(policy, seed):
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += reward
            done = terminated or truncated
        return total

    expert_return = np.mean([episode_return(lambda o: expert(o[None])[0], s) for s in range(3)])
    random_return = np.mean(
        [episode_return(lambda o: env.action_space.sample(), s) for s in range(3)]
    )
    assert expert_return > 150 and random_return < 30


@pytest.mark.parametrize(
    ("env_id", "action", "message"),
    [
        ("lhyrl/Driving-v0", np.zeros(3, dtype=np.float32), "shape"),
        ("lhyrl/Driving-v0", np.array([np.nan, 0.0], dtype=np.float32), "finite"),
        ("lhyrl/Driving-v0", np.array(["a", "b"]), "dtype"),
        ("lhyrl/DrivingDiscrete-v0", 7, r"\[0, 5\)"),
        ("lhyrl/DrivingDiscrete-v0", np.array([1, 2]), "shape"),
        ("lhyrl/DrivingDiscrete-v0", 1.5, "integer"),
    ],
)
def test_bad_action_gets_a_clear_error(env_id, action, message):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_stepping_before_reset_is_refused_not_answered_with_nan(env_id):
    env = gym.make(env_id).unwrapped
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step(env.action_space.sample())
    env.reset(seed=0)
    obs, *_ = env.step(env.action_space.sample())
    assert np.isfinite(obs).all()
    venv = make_vec(env_id, 2)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        venv.step(venv.action_space.sample())


def test_bad_vector_action_shape_gets_a_clear_error():
    venv = make_vec("lhyrl/Driving-v0", 4)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        venv.step(np.zeros((3, 2), dtype=np.float32))


def test_unknown_env_id_and_option_get_clear_errors():
    with pytest.raises(gym.error.NameNotFound, match="Driving"):
        gym.make("lhyrl/Drivng-v0")
    with pytest.raises(TypeError, match="valid options"):
        gym.make("lhyrl/Driving-v0", lane=3)
    with pytest.raises(ValueError, match="lanes must be at least 2"):
        gym.make("lhyrl/Driving-v0", lanes=1)


def test_options_change_the_task():
    env = gym.make("lhyrl/Driving-v0", lanes=4, vehicles=5)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (39,)
    assert obs[9::5].sum() <= 5  # at most the 5 vehicles are seen
    assert obs[3] + obs[4] == pytest.approx(4.0)  # distances to both edges span 4 lanes


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_rgb_array_render_is_a_top_down_picture(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (240, 600, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 4  # grass, road, markings, cars


def test_human_render_runs_headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    env = gym.make("lhyrl/Driving-v0", render_mode="human")
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.float32))
    env.close()


def test_ids_register_with_no_import():
    code = "import gymnasium as gym; env = gym.make('lhyrl:lhyrl/Driving-v0'); print(env.spec.id)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lhyrl/Driving-v0"
    assert lhyrl.__version__


def test_vector_env_renders_one_picture_per_car():
    venv = gym.make_vec(
        "lhyrl/Driving-v0",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        render_mode="rgb_array",
    )
    venv.reset(seed=0)
    frames = venv.render()
    assert len(frames) == 2 and frames[0].shape == (240, 600, 3)
    assert not np.array_equal(frames[0], frames[1])  # two roads, two pictures


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_vector_env_returns_what_its_spaces_promise(env_id):
    n = 4
    venv = make_vec(env_id, n)
    obs, info = venv.reset(seed=0)
    assert venv.observation_space.contains(obs) and obs.dtype == np.float32
    assert venv.single_observation_space.shape == gym.make(env_id).observation_space.shape
    venv.action_space.seed(0)
    for _ in range(40):
        obs, rewards, terminated, truncated, info = venv.step(venv.action_space.sample())
        assert venv.observation_space.contains(obs)
        assert rewards.shape == (n,) and terminated.shape == (n,) and truncated.shape == (n,)
        assert terminated.dtype == bool and truncated.dtype == bool
        for key in ("reward_progress", "crashed", "speed"):
            assert info[key].shape == (n,) and info[f"_{key}"].dtype == bool
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


def sim_state(env) -> dict[str, np.ndarray]:
    sim = env.unwrapped.sim
    names = ("ego_s", "ego_d", "ego_psi", "ego_v", "car_s", "car_d", "car_v", "car_target_d")
    return {name: getattr(sim, name).copy() for name in (*names, "car_cooldown", "elapsed")}


@pytest.mark.parametrize(
    ("action", "seed"),
    [([0.0, 0.5], 0), ([0.1, -0.2], 1), ([1.0, 1.0], 2)],  # the last leaves the road mid-way
)
def test_decision_every_10_equals_10_steps_with_the_same_action(action, seed):
    fine = gym.make("lhyrl/Driving-v0")
    coarse = gym.make("lhyrl/Driving-v0", decision_every=10)
    fine.reset(seed=seed)
    coarse.reset(seed=seed)
    action = np.array(action, dtype=np.float32)
    for _ in range(4):  # 4 decisions of 10 steps each, or until the episode ends
        obs, reward, terminated, truncated, info = coarse.step(action)
        rewards, terms = [], {}
        for _ in range(10):
            fine_obs, r, fine_terminated, fine_truncated, fine_info = fine.step(action)
            rewards.append(r)
            for key, value in fine_info.items():
                if key.startswith("reward_"):
                    terms[key] = terms.get(key, 0.0) + value
            if fine_terminated:
                break
        assert reward == sum(rewards)
        np.testing.assert_array_equal(obs, fine_obs)
        assert (terminated, truncated) == (fine_terminated, fine_truncated)
        assert {k: info[k] for k in terms} == terms
        assert all(info[k] == fine_info[k] for k in ("crashed", "left_road", "finished", "speed"))
        for name, value in sim_state(coarse).items():
            np.testing.assert_array_equal(value, sim_state(fine)[name], err_msg=name)
        if terminated:
            break
    if action[0] == 1.0:
        assert terminated  # full steering leaves the road within 4 s


def test_decision_every_ends_the_episode_at_the_crash_step():
    full_left = np.array([1.0, 1.0], dtype=np.float32)
    fine = gym.make("lhyrl/Driving-v0")
    fine.reset(seed=2)
    crash_step = 1
    while not fine.step(full_left)[2]:
        crash_step += 1
    coarse = gym.make("lhyrl/Driving-v0", decision_every=10)
    coarse.reset(seed=2)
    decisions, terminated = 0, False
    while not terminated and decisions < 10:
        _, _, terminated, _, info = coarse.step(full_left)
        decisions += 1
    assert terminated and info["left_road"] and info["reward_offroad"] == -10.0
    assert decisions == -(-crash_step // 10)  # the decision during which it left the road
    assert coarse.unwrapped.sim.elapsed[0] == crash_step != 10 * decisions  # not simulated on


def test_decision_every_keeps_discrete_meta_actions_for_longer():
    fine = gym.make("lhyrl/DrivingDiscrete-v0")
    coarse = gym.make("lhyrl/DrivingDiscrete-v0", decision_every=2)
    fine.reset(seed=3)
    coarse.reset(seed=3)
    for _ in range(5):
        obs, reward, *_ = coarse.step(0)  # keep lane: two 0.5 s periods are one of 1 s
        _, r1, *_ = fine.step(0)
        fine_obs, r2, *_ = fine.step(0)
        np.testing.assert_array_equal(obs, fine_obs)
        assert reward == pytest.approx(r1 + r2, rel=1e-12)


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_vector_env_with_decision_every_steps_like_single_envs(env_id):
    n = 3
    venv = gym.make_vec(
        env_id, num_envs=n, vectorization_mode="vector_entry_point", decision_every=10
    )
    singles = [gym.make(env_id, decision_every=10) for _ in range(n)]
    vec_obs, _ = venv.reset(seed=11)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(env.reset(seed=11 + i)[0], vec_obs[i])
    venv.action_space.seed(1)
    running = np.ones(n, dtype=bool)
    for _ in range(20):
        actions = venv.action_space.sample()
        vec_obs, rewards, terminated, truncated, _ = venv.step(actions)
        for i, env in enumerate(singles):
            if running[i]:
                o, r, te, tr, _ = env.step(actions[i])
                np.testing.assert_array_equal(o, vec_obs[i])
                assert r == rewards[i] and te == terminated[i] and tr == truncated[i]
                running[i] = not (te or tr)
        if not running.any():
            break
    assert venv.unwrapped.metadata["render_fps"] == 1 or env_id.endswith("Discrete-v0")


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_decision_every_10_passes_gymnasium_and_sb3_check_env(env_id):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make(env_id, decision_every=10).unwrapped, skip_render_check=False)
    sb3_check_env(gym.make(env_id, decision_every=10), warn=True)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bad_decision_every_gets_a_clear_error(bad):
    with pytest.raises(ValueError, match="decision_every must be an int >= 1"):
        gym.make("lhyrl/Driving-v0", decision_every=bad)
    with pytest.raises(ValueError, match="decision_every must be an int >= 1"):
        make_vec("lhyrl/Driving-v0", 2).__class__(2, decision_every=bad)


def test_road_curvature_is_the_moving_average_of_the_segments():
    from lhyrl.envs.driving import road

    rng = np.random.default_rng(0)
    n_points, ramp = 1501, road.TRANSITION_LENGTH
    uniforms = np.stack([road.draw_segments(rng, n_points) for _ in range(5)])
    lengths, values = road._segments(uniforms)
    raw = np.stack(
        [np.repeat(v, k)[: n_points + ramp] for v, k in zip(values, lengths, strict=True)]
    )
    raw[:, :ramp] = 0.0
    window = np.concatenate([np.zeros((5, 1)), np.cumsum(raw, axis=1)], axis=1)
    expected = (window[:, ramp:] - window[:, :-ramp])[:, :n_points] / ramp
    np.testing.assert_array_equal(road.curvature_profiles(uniforms, n_points), expected)
