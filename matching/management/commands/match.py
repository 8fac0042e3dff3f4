"""manage.py match: re-match golden records in batch (all of a type, or those a fresh import touched)."""

import datetime
import multiprocessing
import time
from argparse import ArgumentParser
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from typing import Any

import numpy as np
from django import db
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from matching.batch import (
    SCORE_BLOCK,
    BatchStats,
    ChunkScores,
    Plan,
    compare_by_scoring,
    golden_pk_chunks,
    key_matrix,
    merge_plan_apply,
    plan_merges,
    planned,
    score_table,
    split_plan,
)
from matching.engine import MatchContext, match_context
from matching.frequencies import Frequencies
from matching.models import MatchProfile
from matching.profiles import ProfileTable, profile_table
from matching.tasks import match_golden_chunk
from matching.training import match_model_train_if_due, training_summary
from mdm.context import correlation
from mdm.maintenance import vacuum_for_reads
from mdm.models import EntityType, System
from mdm.services import system_actor


def _forget_inherited_connections() -> None:
    """In a forked worker: never use a database connection object inherited from the parent (its socket is
    the parent's); Django opens a new one on first use. Not closed either: that would end the parent's."""
    for connection in db.connections.all(initialized_only=True):
        connection.connection = None


def _forked_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes forked from this one, each with its own database connection."""
    db.connections.close_all()
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_forget_inherited_connections
    )


# Golden records per Celery task: each task reads its chunk's candidates from the database.
CELERY_CHUNK = 2000
# The run's table, set before the worker processes are forked: they share it (copy-on-write), never pickle it.
_TABLE: ProfileTable | None = None
_SELECTED: np.ndarray | None = None
_FREQUENCIES: Frequencies | None = None


def _context(entity_type: str) -> MatchContext:
    """A worker's context: the run's term frequencies, read once before the fork."""
    return replace(match_context(entity_type), frequencies=_FREQUENCIES)


def _score_blocks(entity_type: str, blocks: list[tuple[int, int]]) -> ChunkScores:
    """Step 1 for a share of the younger golden records in a worker process (a fresh database connection each)."""
    assert _TABLE is not None
    return score_table(_context(entity_type), _TABLE, selected=_SELECTED, blocks=blocks)


def _apply_part(entity_type: str, plan: Plan, correlation_id: str) -> BatchStats:
    """Step 3 for one independent part of the plan in a worker process."""
    with correlation(correlation_id):
        return merge_plan_apply(context=_context(entity_type), plan=plan, table=_TABLE)


class Command(BaseCommand):
    help = (
        "Re-match the active golden records of an entity type against each other, in chunks: merge clear "
        "duplicates into the older record (its golden ID survives), queue the rest for stewards. --since and "
        "--system limit the run to golden records whose source records changed since a moment (a freshly "
        "imported batch). --workers N shares the chunks among N processes."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--entity", required=True, choices=EntityType.values)
        parser.add_argument("--since", help="only golden records with source records received since (ISO 8601)")
        parser.add_argument("--system", help="only golden records with source records from this system")
        parser.add_argument(
            "--chunk-size",
            type=int,
            help=f"golden records per chunk: a block scored at once here (default {SCORE_BLOCK:,}), a task with "
            f"--celery (default {CELERY_CHUNK:,})",
        )
        parser.add_argument("--workers", type=int, default=1, help="processes sharing the chunks (default 1)")
        parser.add_argument("--dry-run", action="store_true", help="score and count, but merge and queue nothing")
        parser.add_argument(
            "--celery",
            action="store_true",
            help="send the chunks to the Celery workers (on any machine) instead of running them here",
        )
        parser.add_argument(
            "--no-training",
            action="store_true",
            help="decide with the active model even when a new one is due (a first load, or grown by a quarter)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            since = parse_datetime(options["since"]) or _date(options["since"])
            if since is None:
                raise CommandError(f"--since: '{options['since']}' is not an ISO 8601 date or date-time")
            if timezone.is_naive(since):
                since = timezone.make_aware(since, datetime.UTC)
        if options["system"] and not System.objects.filter(code=options["system"]).exists():
            raise CommandError(f"unknown system '{options['system']}'")
        if options["chunk_size"] is None:
            options["chunk_size"] = CELERY_CHUNK if options["celery"] else SCORE_BLOCK
        if options["chunk_size"] < 1 or options["workers"] < 1:
            raise CommandError("--chunk-size and --workers must be at least 1")
        entity_type, apply = options["entity"], not options["dry_run"]
        limited = since is not None or bool(options["system"])
        if apply and not options["no_training"]:
            model = match_model_train_if_due(entity_type=entity_type, actor=system_actor("matcher"))
            if model is not None:
                self.stdout.write(training_summary(model))
        if options["celery"] or limited:
            chunks = golden_pk_chunks(
                entity_type, chunk_size=options["chunk_size"], touched_since=since, system=options["system"]
            )
        if options["celery"]:
            with correlation():
                for pks in chunks:
                    match_golden_chunk.delay(entity_type=entity_type, golden_pks=pks, apply=apply)
            self.stdout.write(
                f"{len(chunks):,} chunks ({sum(map(len, chunks)):,} golden {entity_type} records) sent to the Celery "
                "workers; their progress is in the workers' logs, their merges and candidates in the admin."
            )
            return
        started = time.monotonic()
        vacuum_for_reads(MatchProfile._meta.db_table)
        context = match_context(entity_type, batch=True)
        global _TABLE, _SELECTED, _FREQUENCIES
        _FREQUENCIES = context.frequencies
        _TABLE = table = profile_table(entity_type)
        loaded_at = time.monotonic()
        _SELECTED = None
        if limited:  # only the golden records the import touched are matched (against all the others)
            _SELECTED = np.isin(table.golden_pks, np.asarray([pk for pks in chunks for pk in pks], dtype=np.int64))
        block = options["chunk_size"]
        blocks = [(start, min(start + block, table.goldens)) for start in range(0, table.goldens, block)]
        scores = ChunkScores()
        bar = tqdm(total=table.goldens, unit="golden", desc="score", file=self.stderr, disable=None)
        if options["workers"] == 1 or len(blocks) < 2:  # one block: nothing to share
            scores = score_table(context, table, selected=_SELECTED, blocks=blocks, on_progress=bar.update)
        else:
            key_matrix(table, context.max_block_size)  # once, before the fork: the workers inherit it
            pool = _forked_pool(options["workers"])
            with pool:
                futures = {pool.submit(_score_blocks, entity_type, [part]): part for part in blocks}
                for future in as_completed(futures):
                    part_scores = future.result()
                    scores.add(part_scores)
                    bar.update(futures[future][1] - futures[future][0])
        bar.close()
        scored_at = time.monotonic()
        plan = plan_merges(context, scores, compare=compare_by_scoring(context, table))
        planned_at = time.monotonic()
        if apply and options["workers"] > 1 and plan.merges:
            total = BatchStats()
            bar = tqdm(total=len(plan.merges), unit="merge", desc="apply", file=self.stderr, disable=None)
            pool = _forked_pool(options["workers"])
            with correlation() as correlation_id, pool:
                parts = split_plan(plan, options["workers"])
                applying = {pool.submit(_apply_part, entity_type, part, correlation_id): part for part in parts}
                for done in as_completed(applying):
                    total.add(done.result())
                    bar.update(len(applying[done].merges))
            bar.close()
        elif apply:
            bar = tqdm(total=len(plan.merges), unit="merge", desc="apply", file=self.stderr, disable=None)
            with correlation():
                total = merge_plan_apply(context=context, plan=plan, on_progress=bar.update, table=table)
            bar.close()
        else:
            total = planned(plan)
        total.goldens, total.compared_pairs, total.skipped_rejected = (
            scores.goldens,
            scores.compared_pairs,
            scores.skipped_rejected,
        )
        seconds = time.monotonic() - started
        merged, queued = ("would be merged", "would be queued") if not apply else ("merged", "queued")
        self.stdout.write(
            f"{total.goldens:,} golden {entity_type} records re-matched in {seconds:.1f} s "
            f"(loading profiles {loaded_at - started:.1f} s, scoring {scored_at - loaded_at:.1f} s, "
            f"{len(scores.edges):,} pairs at or above review; clustering "
            f"{planned_at - scored_at:.1f} s; applying {time.monotonic() - planned_at:.1f} s): "
            f"{total.compared_pairs:,} pairs compared, {total.merged:,} {merged}, {total.proposed:,} review candidates "
            f"{queued}, {total.skipped_rejected:,} pairs skipped (already rejected or open), {total.merge_refused:,} "
            f"merges refused and sent to review{' (dry run: nothing was written)' if not apply else ''}."
        )
        for message in total.messages[:10]:
            self.stdout.write(f"  {message}")


def _date(text: str) -> datetime.datetime | None:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
