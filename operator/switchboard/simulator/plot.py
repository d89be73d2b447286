"""A picture of a simulated day: arrivals, capacity and service level over time (PNG)."""

from __future__ import annotations

from pathlib import Path

from switchboard.simulator.report import DayReport, clock

HOUR = 3600.0


def write_plot(report: DayReport, path: Path, title: str) -> None:
    """Three panels sharing the time axis: contacts offered per interval, servers ready, and the
    service level per interval against its target."""
    import matplotlib  # heavy: only this function needs it

    matplotlib.use("Agg")
    from matplotlib import pyplot

    intervals = report.intervals
    starts = [interval.start / HOUR for interval in intervals]
    width = (intervals[1].start - intervals[0].start) / HOUR if len(intervals) > 1 else 0.25
    figure, (arrivals, capacity, service) = pyplot.subplots(
        3, 1, sharex=True, figsize=(11, 8), height_ratios=(1, 1.2, 1), layout="constrained"
    )
    figure.suptitle(title)

    arrivals.bar(
        starts, [i.offered for i in intervals], width=width * 0.9, align="edge", color="tab:gray"
    )
    arrivals.set_ylabel(f"contacts offered\nper {width * 60:g} min")

    capacity.step(
        [t / HOUR for t, _ in report.capacity],
        [s for _, s in report.capacity],
        where="post",
        color="tab:blue",
        label="servers ready",
    )
    capacity.set_ylabel("servers")
    capacity.set_ylim(bottom=0)
    capacity.legend(loc="upper right")

    levels = [i.service_level for i in intervals]
    target = report.target_service_level
    colours = ["tab:green" if lv is not None and lv >= target else "tab:red" for lv in levels]
    service.bar(
        starts, [lv or 0.0 for lv in levels], width=width * 0.9, align="edge", color=colours
    )
    service.axhline(
        target,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"target {target:.0%} within {report.within_seconds:g} s",
    )
    service.set_ylim(0, 1.05)
    service.set_ylabel("service level")
    service.legend(loc="lower right")

    ticks = range(int(starts[0]), int(starts[-1] + width) + 2)
    service.set_xticks(list(ticks), [clock(hour * HOUR) for hour in ticks])
    service.set_xlabel("time of day")
    for axes in (arrivals, capacity, service):
        axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
