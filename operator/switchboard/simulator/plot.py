"""A picture of a simulated day: contacts offered, capacity and service level of each tier over
time (PNG)."""

from __future__ import annotations

from pathlib import Path

from switchboard.simulator.report import DayReport, clock

HOUR = 3600.0
COLOURS = {"bot": "tab:purple", "agents": "tab:blue"}


def write_plot(report: DayReport, path: Path, title: str) -> None:
    """Three panels sharing the time axis: contacts offered to each tier per interval, servers
    ready, and each tier's service level per interval against the target."""
    import matplotlib  # heavy: only this function needs it

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (offered, capacity, service) = pyplot.subplots(
        3, 1, sharex=True, figsize=(11, 8), height_ratios=(1, 1.2, 1), layout="constrained"
    )
    figure.suptitle(title)
    target = report.target_service_level
    first = report.tiers["bot"].intervals
    width = (first[1].start - first[0].start) / HOUR if len(first) > 1 else 0.25
    for number, (workload, tier) in enumerate(report.tiers.items()):
        starts = [interval.start / HOUR for interval in tier.intervals]
        half = [start + number * width / 2 for start in starts]
        colour = COLOURS[workload]
        offered.bar(
            half,
            [i.offered for i in tier.intervals],
            width=width * 0.45,
            align="edge",
            color=colour,
            label=workload,
        )
        capacity.step(
            [t / HOUR for t, _ in tier.capacity],
            [s for _, s in tier.capacity],
            where="post",
            color=colour,
            label=f"{workload} servers ready",
        )
        levels = [i.service_level for i in tier.intervals]
        service.bar(
            half,
            [lv or 0.0 for lv in levels],
            width=width * 0.45,
            align="edge",
            color=colour,
            edgecolor=["red" if lv is not None and lv < target else colour for lv in levels],
            label=workload,
        )
    offered.set_ylabel(f"contacts offered\nper {width * 60:g} min")
    offered.legend(loc="upper right")
    capacity.set_ylabel("servers")
    capacity.set_ylim(bottom=0)
    capacity.legend(loc="upper right")
    service.axhline(
        target,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"target {target:.0%} within {report.within_seconds:g} s",
    )
    service.set_ylim(0, 1.05)
    service.set_ylabel("service level\n(red edge: missed)")
    service.legend(loc="lower right")

    starts = [interval.start / HOUR for interval in first]
    ticks = range(int(starts[0]), int(starts[-1] + width) + 2)
    service.set_xticks(list(ticks), [clock(hour * HOUR) for hour in ticks])
    service.set_xlabel("time of day")
    for axes in (offered, capacity, service):
        axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
