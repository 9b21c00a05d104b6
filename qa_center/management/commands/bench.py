"""manage.py bench <name> [options]: the project's benchmarks, each comparing methods in the same run.

To add one, put a module with `add_arguments(parser)` and `run(out, **options)` somewhere in your app and
register it in BENCHMARKS below (name → dotted module path). `run` prints with `out(text)` and should end
with one line `bench <name>: ...` that states the ratio it measures.
"""

from __future__ import annotations

import importlib

from django.core.management.base import BaseCommand, CommandError

BENCHMARKS: dict[str, str] = {
    "ingest": "calls.benchmarks",
    "admin-save": "calls.bench_admin_save",
    "import-push": "calls.bench_import_push",
    "analytics": "scoring.analytics.bench",
    "followups": "scoring.followups.bench",
    "sample": "scoring.bench_sampling",
}


class Command(BaseCommand):
    help = "Run a benchmark: " + ", ".join(sorted(BENCHMARKS))

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
        for name, module_path in sorted(BENCHMARKS.items()):
            module = importlib.import_module(module_path)
            sub = subparsers.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
            module.add_arguments(sub)

    def handle(self, *args, benchmark, **options):
        module = importlib.import_module(BENCHMARKS[benchmark])
        for key in (
            "verbosity",
            "settings",
            "pythonpath",
            "traceback",
            "no_color",
            "force_color",
            "skip_checks",
        ):
            options.pop(key, None)

        def out(text: str) -> None:
            self.stdout.write(text)
            self.stdout.flush()

        try:
            module.run(out, **options)
        except RuntimeError as error:
            raise CommandError(str(error)) from None
