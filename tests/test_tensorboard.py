"""torch.utils.tensorboard.SummaryWriter: event files read back with TensorBoard's own reader,
and compared with the events PyTorch 2.13 writes for the same calls (tests/data/tensorboard_torch.json,
made by running `scenario` with real torch: see `_record` at the end)."""
import base64
import io
import json
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("tensorboard")

DATA = os.path.join(os.path.dirname(__file__), "data", "tensorboard_torch.json")


def scenario(torch, SummaryWriter, d):
    """The same calls, for PyTorch (recording) and ferrotorch (testing)."""
    rng = np.random.RandomState(0)
    with SummaryWriter(d, purge_step=5) as w:
        w.add_scalar("loss", torch.tensor(0.25), 1)
        w.add_scalar("loss", np.float32(0.125), 2)
        w.add_scalar("loss", 3, 3)
        w.add_scalar("nsd", 1.5, 2, new_style=True)
        w.add_scalar("nsdd", 1.5, 2, new_style=True, double_precision=True)
        w.add_scalars("grp/x", {"a": 1.0, "b": torch.tensor([2])}, 4)
        w.add_histogram("h", torch.tensor(rng.randn(100).astype(np.float32)), 0)
        w.add_histogram("h2", np.arange(10.0), 0, bins="auto")
        w.add_histogram("h3", rng.randn(1000), 0, max_bins=20)
        w.add_histogram_raw("hr", 0, 3, 4, 6, 14, [1.0, 2.0, 3.0], [1, 2, 1], 1)
        w.add_image("img", torch.tensor(rng.rand(3, 4, 5).astype(np.float32)), 0)
        w.add_image("imghw", rng.rand(4, 5), 0, dataformats="HW")
        w.add_image("imghwc", (rng.rand(4, 5, 1) * 300).astype(np.float32) / 255, 0, dataformats="HWC")
        w.add_images("imgs", (rng.rand(3, 1, 4, 5) * 255).astype(np.uint8), 0)
        w.add_text("t", "hello *x*", 2)
        w.add_hparams({"lr": 0.1, "bs": 16, "opt": "sgd", "b": True}, {"hp/acc": 0.9}, run_name="hp",
                      hparam_domain_discrete={"opt": ["sgd", "adam"]})
        w.add_pr_curve("pr", np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.6, 0.4]), 0)
        w.add_audio("au", torch.tensor(np.sin(np.arange(50) / 3.0).astype(np.float32)), 0)
        w.add_tensor("ten", torch.tensor([[1.5, 2.0]]), 0)
        w.add_tensor("tenh", torch.tensor([1.5, 2.0]).half(), 0)
        w.add_tensor("teni", torch.tensor([3, -4]), 0)
        w.add_custom_scalars_marginchart(["a", "b", "c"])
        w.add_embedding(torch.tensor(rng.rand(4, 3)), metadata=[["a", 1], ["b", 2], ["c", 3], ["d", 4]],
                        metadata_header=["n", "k"], tag="e/1")


def _dump(d):
    """{run: [event, ...]} with wall times dropped and PNG images replaced by their pixels (the
    encoder's bytes depend on the Pillow version), plus the other files' contents."""
    from PIL import Image
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader as EventFileLoader
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
    out = {}
    for root, _, files in sorted(os.walk(d)):
        for f in sorted(files):
            p = os.path.join(root, f)
            if not f.startswith("events."):
                out[os.path.relpath(p, d)] = open(p, "rb").read().decode()
                continue
            evs = []
            for e in EventFileLoader(p).Load():
                e.wall_time = 0
                for v in e.summary.value:
                    if v.HasField("image"):
                        px = np.asarray(Image.open(io.BytesIO(v.image.encoded_image_string)))
                        v.image.encoded_image_string = px.tobytes() + str(px.shape).encode()
                    pd = v.metadata.plugin_data
                    if pd.plugin_name == "hparams":  # holds a map: serialize it in a fixed order
                        pd.content = HParamsPluginData.FromString(pd.content).SerializeToString(deterministic=True)
                evs.append(base64.b64encode(e.SerializeToString(deterministic=True)).decode())
            out[os.path.relpath(root, d) + "/events"] = evs
    return out


@pytest.fixture
def tb():
    from ferrotorch.utils.tensorboard import SummaryWriter
    return SummaryWriter


def _accumulator(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(path, size_guidance={"tensors": 0, "scalars": 0})
    ea.Reload()
    return ea


def test_events_match_pytorch(tmp_path):
    """Every event and side file equals what PyTorch writes for the same calls."""
    import ferrotorch
    from ferrotorch.utils.tensorboard import SummaryWriter
    scenario(ferrotorch, SummaryWriter, str(tmp_path / "run"))
    got = _dump(str(tmp_path / "run"))
    with open(DATA) as f:
        want = json.load(f)
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k] == want[k], k


def test_scalars_read_back(tmp_path, tb):
    import ferrotorch as torch
    with tb(str(tmp_path)) as w:
        for i in range(5):
            w.add_scalar("train/loss", torch.tensor(1.0 / (i + 1)), i)
        w.add_scalar("acc", np.float64(0.5), 10, walltime=123.0)
        w.add_scalar("lr", 0.01, 3)
    ea = _accumulator(str(tmp_path))
    assert sorted(ea.Tags()["scalars"]) == ["acc", "lr", "train/loss"]
    loss = ea.Scalars("train/loss")
    assert [e.step for e in loss] == [0, 1, 2, 3, 4]
    assert [e.value for e in loss] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    (acc,) = ea.Scalars("acc")
    assert (acc.step, acc.value, acc.wall_time) == (10, 0.5, 123.0)
    assert ea.Scalars("lr")[0].value == pytest.approx(0.01)


def test_scalar_needs_one_element(tmp_path, tb):
    import ferrotorch as torch
    with tb(str(tmp_path)) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", torch.tensor([1.0, 2.0]), 0)
        with pytest.raises(ValueError):
            w.add_scalar("x", "not a number", 0)
        with pytest.raises(NotImplementedError):
            w.add_scalar("x", [1.0], 0)


def test_add_scalars_runs(tmp_path, tb):
    import ferrotorch as torch
    with tb(str(tmp_path)) as w:
        for i in range(3):
            w.add_scalars("run/14h", {"sin": float(np.sin(i)), "cos": torch.tensor(float(np.cos(i)))}, i)
    for name, fn in (("sin", np.sin), ("cos", np.cos)):
        ea = _accumulator(str(tmp_path / f"run_14h_{name}"))
        ev = ea.Scalars("run/14h")
        assert [e.step for e in ev] == [0, 1, 2]
        assert [e.value for e in ev] == pytest.approx([fn(i) for i in range(3)], abs=1e-6)


def test_histogram_values(tmp_path, tb):
    import ferrotorch as torch
    with tb(str(tmp_path)) as w:
        w.add_histogram("w", torch.arange(10.0), 7)
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("e", torch.zeros(0), 0)
    (h,) = _accumulator(str(tmp_path)).Histograms("w")
    v = h.histogram_value
    assert (h.step, v.min, v.max, v.num, v.sum, v.sum_squares) == (7, 0, 9, 10, 45, 285)
    assert sum(v.bucket) == 10


def test_image_read_back(tmp_path, tb):
    import ferrotorch as torch
    from PIL import Image
    chw = torch.zeros(3, 2, 4)
    chw[0] = 1.0  # red
    hwc = np.zeros((2, 4, 3), np.uint8)
    hwc[..., 2] = 200
    with tb(str(tmp_path)) as w:
        w.add_image("chw", chw, 1)
        w.add_image("hwc", hwc, 2, dataformats="HWC")
        w.add_images("batch", torch.ones(5, 1, 2, 3), 3)
        with pytest.raises(AssertionError):
            w.add_image("bad", torch.zeros(2, 2), 0)  # 2-d without dataformats="HW"
    ea = _accumulator(str(tmp_path))
    (img,) = ea.Images("chw")
    px = np.asarray(Image.open(io.BytesIO(img.encoded_image_string)))
    assert (img.step, img.height, img.width) == (1, 2, 4)
    assert (px[..., 0] == 255).all() and (px[..., 1:] == 0).all()
    px = np.asarray(Image.open(io.BytesIO(ea.Images("hwc")[0].encoded_image_string)))
    assert (px[..., 2] == 200).all()
    b = ea.Images("batch")[0]
    assert (b.height, b.width) == (2, 15)  # 5 images side by side (up to 8 per row)


def test_text_and_hparams(tmp_path, tb):
    from tensorboard.plugins.hparams import plugin_data_pb2
    with tb(str(tmp_path)) as w:
        w.add_text("note", "**bold**", 4)
        w.add_hparams({"lr": 0.1, "opt": "adam"}, {"hparam/acc": 0.75}, run_name="trial")
        with pytest.raises(TypeError):
            w.add_hparams([1], {})
    ea = _accumulator(str(tmp_path))
    (t,) = ea.Tensors("note/text_summary")
    assert t.step == 4 and t.tensor_proto.string_val == [b"**bold**"]
    hp = _accumulator(str(tmp_path / "trial"))
    assert hp.Scalars("hparam/acc")[0].value == 0.75
    content = hp.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["lr"].number_value == pytest.approx(0.1)
    assert start.session_start_info.hparams["opt"].string_value == "adam"


def test_purge_step_and_reopen(tmp_path, tb):
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader as EventFileLoader
    w = tb(str(tmp_path), purge_step=3, filename_suffix=".x")
    w.add_scalar("a", 1.0, 3)
    w.close()
    w.add_scalar("a", 2.0, 4)  # a closed writer opens a new event file
    w.flush()
    w.close()
    files = sorted(f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents."))
    assert len(files) == 2 and all(f.endswith(".x") for f in files)
    evs = [e for f in files for e in EventFileLoader(str(tmp_path / f)).Load()]
    starts = [e for e in evs if e.HasField("session_log")]
    assert len(starts) == 1 and starts[0].step == 3
    assert sorted(e.summary.value[0].simple_value for e in evs if e.HasField("summary")) == [1.0, 2.0]


def test_default_logdir(tmp_path, monkeypatch, tb):
    import socket
    monkeypatch.chdir(tmp_path)
    w = tb(comment="_lr0.1")
    w.close()
    (d,) = os.listdir(tmp_path / "runs")
    assert d.endswith("_" + socket.gethostname() + "_lr0.1")
    assert w.get_logdir() == os.path.join("runs", d)


def test_add_graph_warns(tmp_path, tb):
    import ferrotorch as torch
    with tb(str(tmp_path)) as w:
        with pytest.warns(UserWarning, match="add_graph"):
            w.add_graph(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_add_figure(tmp_path, tb):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(2, 1), dpi=50)
    fig.patch.set_facecolor((0, 1, 0))
    with tb(str(tmp_path)) as w:
        w.add_figure("fig", fig, 5)
    assert not plt.fignum_exists(fig.number)  # close=True
    (img,) = _accumulator(str(tmp_path)).Images("fig")
    assert (img.step, img.height, img.width) == (5, 50, 100)
    from PIL import Image
    px = np.asarray(Image.open(io.BytesIO(img.encoded_image_string)))
    assert (px[0, 0] == [0, 255, 0]).all()


def test_embedding_files(tmp_path, tb):
    import ferrotorch as torch
    with tb(str(tmp_path)) as w:
        w.add_embedding(torch.tensor([[1.0, 2.0], [3.0, 4.5]]), metadata=["x", "y"], global_step=3, tag="emb")
    sub = tmp_path / "00003" / "emb"
    assert (sub / "tensors.tsv").read_text() == "1.0\t2.0\n3.0\t4.5\n"
    assert (sub / "metadata.tsv").read_text() == "x\ny\n"
    cfg = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "emb:00003"' in cfg and 'tensor_path: "00003/emb/tensors.tsv"' in cfg


def test_bfloat16_and_requires_grad_values(tmp_path, tb):
    import ferrotorch as torch
    x = torch.tensor([1.5, 2.5], requires_grad=True)
    with tb(str(tmp_path)) as w:
        w.add_histogram("g", x, 0)
        w.add_scalar("b", torch.tensor(0.5).to(torch.bfloat16), 0)
    ea = _accumulator(str(tmp_path))
    assert ea.Histograms("g")[0].histogram_value.sum == 4.0
    assert ea.Scalars("b")[0].value == 0.5


def test_import_path():
    import ferrotorch as torch
    from ferrotorch.utils.tensorboard import SummaryWriter
    assert torch.utils.tensorboard.SummaryWriter is SummaryWriter


def _record():  # pragma: no cover - run by hand with real PyTorch to refresh DATA
    import shutil
    import tempfile

    import torch
    from torch.utils.tensorboard import SummaryWriter
    d = tempfile.mkdtemp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario(torch, SummaryWriter, os.path.join(d, "run"))
    with open(DATA, "w") as f:
        json.dump(_dump(os.path.join(d, "run")), f, indent=0, sort_keys=True)
    shutil.rmtree(d)


if __name__ == "__main__":
    _record()
