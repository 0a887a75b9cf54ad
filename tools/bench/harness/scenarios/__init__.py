"""The benchmark scenarios, by name. Each is a function (stack, args, run, previous) that
runs one run of the scenario on `stack` (`previous`: the figures of the run before, or None)
and returns (figures of one run, list of self-check failures)."""

from .dashboard import scenario_dashboard
from .dedup import scenario_dedup
from .latency import scenario_latency
from .python import scenario_python
from .search import scenario_search
from .services import scenario_services
from .steady import scenario_steady
from .throughput import scenario_throughput

SCENARIOS = {
    "throughput": scenario_throughput,
    "latency": scenario_latency,
    "steady": scenario_steady,
    "dashboard": scenario_dashboard,
    "dedup": scenario_dedup,
    "python": scenario_python,
    "services": scenario_services,
    "search": scenario_search,
}
