import pytest

from cvlearned.evaluation.metrics.timing import TimingStats, time_call


def test_time_call_counts_and_stats():
    calls = []
    stats = time_call(lambda x, y=0: calls.append(x + y), 1, repeats=3, warmup=2, y=1)
    assert len(calls) == 5 and calls[0] == 2
    assert isinstance(stats, TimingStats)
    assert 0 <= stats.min_ms <= stats.median_ms and stats.min_ms <= stats.mean_ms
    with pytest.raises(ValueError):
        time_call(lambda: None, repeats=0)
