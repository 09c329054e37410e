"""ferrotorch.utils.data: datasets, samplers, collation and the DataLoader
(single process and worker processes)."""
import collections
import math

import numpy as np
import pytest

import ferrotorch as torch
from ferrotorch.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


def _ds(n=10):
    X = torch.tensor(np.arange(2 * n, dtype=np.float32).reshape(n, 2))
    Y = torch.tensor(np.arange(n, dtype=np.int64))
    return TensorDataset(X, Y)


def _labels(loader):
    return [y.tolist() for _, y in loader]


# module-level classes so that worker processes can use them under any start method
class DictDataset(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"x": i, "f": i * 0.5, "s": f"item{i}", "pair": (i, [i, 2 * i]), "flag": i % 2 == 0,
                "t": torch.full((2,), float(i)), "np": np.array([i, i + 1], dtype=np.float32)}


class RangeIterable(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


class FailingDataset(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise ValueError("bad sample 2")
        return torch.tensor([i])


class WorkerIdDataset(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return torch.tensor([i, -1 if info is None else info.id, 0 if info is None else info.num_workers])


Point = collections.namedtuple("Point", ["x", "y"])


# --------------------------------------------------------------------------- datasets
def test_tensor_dataset():
    ds = _ds(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(torch.zeros(3, 2), torch.zeros(4))


def test_concat_subset_and_add():
    a, b = _ds(3), _ds(4)
    c = a + b
    assert isinstance(c, ConcatDataset) and len(c) == 7
    assert c[3][1].item() == 0 and c[-1][1].item() == 3 and c[2][1].item() == 2
    assert c.cumulative_sizes == [3, 7]
    with pytest.raises(ValueError, match="absolute value of index"):
        c[-8]
    s = Subset(b, [3, 1])
    assert len(s) == 2 and s[0][1].item() == 3 and s[1][1].item() == 1
    assert [x[1].item() for x in s.__getitems__([1, 0])] == [1, 3]


def test_chain_dataset():
    ch = ChainDataset([RangeIterable(2), RangeIterable(3)])
    assert list(ch) == [0, 1, 0, 1, 2]
    assert len(ch) == 5


def test_random_split_lengths_and_fractions():
    g = torch.Generator().manual_seed(42)
    parts = random_split(range(10), [3, 7], generator=g)
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    g1 = torch.Generator().manual_seed(7)
    g2 = torch.Generator().manual_seed(7)
    f1 = random_split(range(11), [0.5, 0.3, 0.2], generator=g1)
    f2 = random_split(range(11), [0.5, 0.3, 0.2], generator=g2)
    assert [len(p) for p in f1] == [6, 3, 2]  # floor = [5, 3, 2], remainder 1 goes round-robin
    assert [list(p) for p in f1] == [list(p) for p in f2]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])


# --------------------------------------------------------------------------- samplers
def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    bs = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(bs) == 4
    bs = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(bs) == 3
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), batch_size=0, drop_last=False)


def test_random_sampler():
    g = torch.Generator().manual_seed(3)
    perm = list(RandomSampler(range(20), generator=g))
    assert sorted(perm) == list(range(20)) and perm != list(range(20))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert list(RandomSampler(range(20), generator=g1)) == list(RandomSampler(range(20), generator=g2))
    s = RandomSampler(range(5), replacement=True, num_samples=70, generator=torch.Generator().manual_seed(0))
    draws = list(s)
    assert len(draws) == 70 == len(s) and all(0 <= d < 5 for d in draws)
    s = RandomSampler(range(5), num_samples=12, generator=torch.Generator().manual_seed(0))
    draws = list(s)
    assert len(draws) == 12 and sorted(draws[:5]) == list(range(5)) and sorted(draws[5:10]) == list(range(5))
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(5), num_samples=0)


def test_subset_random_and_weighted_sampler():
    idx = [10, 20, 30, 40]
    out = list(SubsetRandomSampler(idx, generator=torch.Generator().manual_seed(1)))
    assert sorted(out) == idx
    w = WeightedRandomSampler([0.0, 0.0, 1.0, 0.0], num_samples=6, generator=torch.Generator().manual_seed(0))
    assert list(w) == [2] * 6 and len(w) == 6
    w = WeightedRandomSampler([1.0, 1.0, 1.0], num_samples=3, replacement=False,
                              generator=torch.Generator().manual_seed(0))
    assert sorted(w) == [0, 1, 2]


# --------------------------------------------------------------------------- collate
def test_default_collate_types():
    b = default_collate([torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])])
    assert b.tolist() == [[1.0, 2.0], [3.0, 4.0]] and b.dtype == torch.float32
    b = default_collate([1, 2, 3])
    assert b.dtype == torch.int64 and b.tolist() == [1, 2, 3]
    b = default_collate([0.5, 1.5])
    assert b.dtype == torch.float64 and b.tolist() == [0.5, 1.5]
    b = default_collate([True, False])
    assert b.dtype == torch.bool and b.tolist() == [True, False]
    assert default_collate(["a", "b"]) == ["a", "b"]
    b = default_collate([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float64 and b.shape == (2, 2)
    b = default_collate([np.float32(1.5), np.float32(2.5)])
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float32
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_default_collate_nested():
    batch = [{"a": (1, torch.tensor([1.0])), "b": [2.0, "x"]}, {"a": (3, torch.tensor([2.0])), "b": [4.0, "y"]}]
    out = default_collate(batch)
    assert set(out) == {"a", "b"}
    assert isinstance(out["a"], list)  # tuples become lists, like PyTorch
    assert out["a"][0].tolist() == [1, 3]
    assert out["a"][1].tolist() == [[1.0], [2.0]]
    assert out["b"][0].tolist() == [2.0, 4.0] and list(out["b"][1]) == ["x", "y"]
    od = default_collate([collections.OrderedDict(k=1), collections.OrderedDict(k=2)])
    assert isinstance(od, collections.OrderedDict) and od["k"].tolist() == [1, 2]
    pt = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(pt, Point) and pt.x.tolist() == [1, 3] and pt.y.dtype == torch.float64
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])


def test_default_convert():
    out = default_convert({"a": np.array([1, 2]), "b": (np.float64(1.0), "s"), "c": 3})
    assert isinstance(out["a"], torch.Tensor) and out["a"].tolist() == [1, 2]
    assert isinstance(out["b"], list) and isinstance(out["b"][0], torch.Tensor) and out["b"][1] == "s"
    assert out["c"] == 3
    t = torch.zeros(2)
    assert default_convert(t) is t


# --------------------------------------------------------------------------- DataLoader
def test_batching_and_len():
    dl = DataLoader(_ds(10), batch_size=4)
    assert len(dl) == 3
    batches = list(dl)
    assert [x.shape for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]
    assert _labels(dl) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    dl = DataLoader(_ds(10), batch_size=4, drop_last=True)
    assert len(dl) == 2
    assert _labels(dl) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batch_size_none_and_custom_collate():
    dl = DataLoader(_ds(3), batch_size=None)
    items = list(dl)
    assert len(items) == 3 and items[1][0].tolist() == [2.0, 3.0]
    dl = DataLoader(_ds(5), batch_size=2, collate_fn=lambda b: [int(y) for _, y in b])
    assert list(dl) == [[0, 1], [2, 3], [4]]


def test_shuffle_with_generator_is_deterministic():
    ds = _ds(20)
    a = _labels(DataLoader(ds, batch_size=6, shuffle=True, generator=torch.Generator().manual_seed(123)))
    b = _labels(DataLoader(ds, batch_size=6, shuffle=True, generator=torch.Generator().manual_seed(123)))
    c = _labels(DataLoader(ds, batch_size=6, shuffle=True, generator=torch.Generator().manual_seed(124)))
    assert a == b
    assert a != c
    assert sorted(sum(a, [])) == list(range(20))
    assert sum(a, []) != list(range(20))
    # a loader reshuffles at every epoch
    g = torch.Generator().manual_seed(9)
    dl = DataLoader(ds, batch_size=20, shuffle=True, generator=g)
    assert _labels(dl) != _labels(dl)


def test_shuffle_follows_manual_seed():
    ds = _ds(30)
    torch.manual_seed(0)
    a = _labels(DataLoader(ds, batch_size=30, shuffle=True))
    torch.manual_seed(0)
    b = _labels(DataLoader(ds, batch_size=30, shuffle=True))
    assert a == b


def test_sampler_and_batch_sampler_arguments():
    ds = _ds(6)
    dl = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert _labels(dl) == [[5, 4], [3, 2], [1, 0]]
    dl = DataLoader(ds, batch_sampler=[[0, 5], [1]])
    assert _labels(dl) == [[0, 5], [1]] and len(dl) == 2
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=3)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="should not be set after"):
        dl.batch_size = 3


def test_dict_samples_collate():
    batch = next(iter(DataLoader(DictDataset(), batch_size=3)))
    assert batch["x"].tolist() == [0, 1, 2] and batch["x"].dtype == torch.int64
    assert batch["f"].dtype == torch.float64 and batch["f"].tolist() == [0.0, 0.5, 1.0]
    assert batch["s"] == ["item0", "item1", "item2"]
    assert batch["pair"][0].tolist() == [0, 1, 2]
    assert batch["pair"][1][1].tolist() == [0, 2, 4]
    assert batch["flag"].dtype == torch.bool and batch["flag"].tolist() == [True, False, True]
    assert batch["t"].tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    assert batch["np"].dtype == torch.float32 and batch["np"].tolist() == [[0, 1], [1, 2], [2, 3]]


def test_iterable_dataset_single_process():
    dl = DataLoader(RangeIterable(7), batch_size=3)
    assert [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(dl) == 3
    dl = DataLoader(RangeIterable(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(RangeIterable(3), shuffle=True)


# --------------------------------------------------------------------------- worker processes
def test_num_workers_gives_same_batches():
    ds = _ds(23)
    ref = list(DataLoader(ds, batch_size=4, num_workers=0))
    got = list(DataLoader(ds, batch_size=4, num_workers=2))
    assert len(ref) == len(got) == 6
    for (x0, y0), (x1, y1) in zip(ref, got):
        assert x0.tolist() == x1.tolist() and y0.tolist() == y1.tolist()
        assert x1.dtype == torch.float32 and y1.dtype == torch.int64


def test_num_workers_shuffle_same_as_single_process():
    ds = _ds(17)
    a = _labels(DataLoader(ds, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(4)))
    b = _labels(DataLoader(ds, batch_size=5, shuffle=True, num_workers=2,
                           generator=torch.Generator().manual_seed(4)))
    assert a == b


def test_workers_dict_batches_and_prefetch():
    ref = list(DataLoader(DictDataset(), batch_size=2))
    got = list(DataLoader(DictDataset(), batch_size=2, num_workers=2, prefetch_factor=1))
    assert len(ref) == len(got) == 3
    for r, g in zip(ref, got):
        assert r["x"].tolist() == g["x"].tolist() and r["s"] == g["s"]
        assert r["t"].tolist() == g["t"].tolist() and r["pair"][1][1].tolist() == g["pair"][1][1].tolist()


def test_worker_info_and_init_fn():
    seen = list(DataLoader(WorkerIdDataset(), batch_size=2, num_workers=2, worker_init_fn=_init_fn))
    rows = torch.cat(seen).tolist()
    assert [r[0] for r in rows] == list(range(8))
    assert {r[1] for r in rows} == {0, 1}  # round-robin over the two workers
    assert {r[2] for r in rows} == {2}
    assert get_worker_info() is None


def _init_fn(worker_id):
    info = get_worker_info()
    assert info is not None and info.id == worker_id and info.num_workers == 2


def test_iterable_dataset_with_workers():
    dl = DataLoader(RangeIterable(9), batch_size=2, num_workers=2)
    values = sorted(v for b in dl for v in b.tolist())
    assert values == list(range(9))


def test_worker_exception_is_reraised():
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process"):
        list(DataLoader(FailingDataset(), batch_size=1, num_workers=2))


def test_persistent_workers_two_epochs():
    dl = DataLoader(_ds(9), batch_size=4, num_workers=2, persistent_workers=True)
    e1 = _labels(dl)
    it = dl._iterator
    e2 = _labels(dl)
    assert e1 == e2 == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    assert dl._iterator is it


def test_pin_memory_accepted():
    dl = DataLoader(_ds(4), batch_size=2, pin_memory=True)
    assert _labels(dl) == [[0, 1], [2, 3]]
