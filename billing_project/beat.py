"""The beat scheduler: tenant-schemas-celery's database scheduler, reading its schedule from public.

django_celery_beat is a SHARED_APP: its tables (PeriodicTask, PeriodicTasks) exist in the public
schema only. tenant-schemas-celery reads them once per schema; inside a tenant the search path is
`<tenant>, public`, so every tenant "has" public's rows again and its scheduler refuses them as
duplicates ("duplicate periodic task name ... Previously seen in schema: 'public'") at start when rows
exist and at every 5-minute re-sync, which stopped `make run` (issue 14). Here the rows are read from
public only, and an entry without `tenant_schemas` is still sent once per tenant when due, to run in
that tenant's schema (the parent's apply_entry); one with `"tenant_schemas": ["public"]` once in public
(this project has no Tenant row for public, see TenantMiddleware, so the parent would never send it).

BEAT_EVERY_SECONDS (tests only, the soak test) makes every entry run at that interval, and the
re-sync from the database and the save of last-run times happen that often, so a test sees every job
(the daily ones too) and the re-sync within seconds.

One leader (issue 20): several beat processes may run at once (a rolling deploy, one per node); only
the holder of a lease in Redis (billing_project.leader, BEAT_LEADER_LEASE_SECONDS) sends anything.
The others tick as standbys, renewing nothing. A process that becomes the leader reads the schedule
again from the database first, where the previous leader saved each entry's last run right after
sending it, so a job due once per period is not sent again by the new leader in that period.

Whatever its heap says, a process never sends one entry twice in one period (`sent_in_this_period`):
the full soak once saw a leader send an all-tenant entry twice 33-49 ms apart right after taking the
lead (a schedule re-read racing the save of the first send's last run).
"""

import json
import logging
from datetime import datetime, timedelta

import django_celery_beat.schedulers
from django.conf import settings
from django_celery_beat.models import PeriodicTasks
from django_tenants.utils import get_public_schema_name, schema_context
from tenant_schemas_celery.db_scheduler import TenantAwareDatabaseScheduler

from billing_project.leader import LeaderLease

logger = logging.getLogger(__name__)


def sent_in_this_period(schedule, sent_at: datetime | None) -> bool:
    """True when a send at `sent_at` already served the period it is now (the schedule's clock):
    less time has passed since it than is left until the entry's next due time. A send that is due
    (nothing left) is never refused, for an interval or a crontab schedule alike."""
    if sent_at is None:
        return False
    return schedule.now() - sent_at < schedule.remaining_estimate(sent_at)


class PublicPeriodicTasks:
    """When the schedule last changed: one row, in public (not one read per tenant every tick)."""

    @classmethod
    def last_change(cls):
        with schema_context(get_public_schema_name()):
            return PeriodicTasks.last_change()


class BillingBeatScheduler(TenantAwareDatabaseScheduler):
    Changes = PublicPeriodicTasks

    def __init__(self, *args, **kwargs):
        every = settings.BEAT_EVERY_SECONDS
        if every:
            # django_celery_beat reads its 5-minute re-sync period from this module constant.
            django_celery_beat.schedulers.SCHEDULE_SYNC_MAX_INTERVAL = every
            kwargs["max_interval"] = min(kwargs.get("max_interval") or every, 1)
        self.leader = LeaderLease("beat", ttl=settings.BEAT_LEADER_LEASE_SECONDS)
        self._sent_at: dict[str, datetime] = {}  # entry name -> when this process last sent it
        super().__init__(*args, **kwargs)
        if every:
            self.sync_every = every

    def tick(self, *args, **kwargs):
        """One tick: as the leader, send what is due (then save its last run at once); as a standby,
        only try again for the lease, a third of its lifetime later at most."""
        renew_within = max(self.leader.ttl / 3, 0.5)
        was_leading = self.leader.leading
        if not self.leader.hold():
            return min(self.max_interval, renew_within)
        if not was_leading:
            # What another leader ran meanwhile is in the database only: read the entries (their
            # last_run_at) again and rebuild the heap from them instead of this process's old copy.
            self._initial_read = True
            self._heap = None
            # ...and take the change marker now: the forced read skips schedule_changed(), so the
            # marker would still predate that read, and the next tick would read the schedule once
            # more, right after this tick's send, and send its first entry a second time.
            self._last_timestamp = self.Changes.last_change()
        delay = super().tick(*args, **kwargs)
        if self._dirty:
            # Last runs saved now, not at the next periodic sync: a leader taking over after this
            # process stops (or dies) must see them.
            self.sync()
        return min(delay, renew_within)

    def close(self):
        try:
            super().close()
        finally:
            self.leader.release()

    def enabled_models(self):
        """The enabled rows, read once, in public. An entry for all tenants gets no `_schema_name`
        header: each tenant's copy takes its schema from the connection when sent (the parent's
        apply_entry switches to each tenant); a header saying public would run them all in public."""
        public = get_public_schema_name()
        with schema_context(public):
            models = list(self.enabled_models_qs())
        for task in models:
            headers = json.loads(task.headers or "{}")
            if not headers.get("_all_tenants_only"):
                headers.setdefault("_schema_name", public)
            task.headers = json.dumps(headers)
        return models

    def _tenant_aware_beat_schedule_to_dict(self, beat_schedule):
        every = settings.BEAT_EVERY_SECONDS
        if every:
            beat_schedule = {
                name: {**entry, "schedule": timedelta(seconds=every)}
                for name, entry in beat_schedule.items()
            }
        return super()._tenant_aware_beat_schedule_to_dict(beat_schedule)

    def all_as_schedule(self):
        schedule = super().all_as_schedule()
        # INFO, so a soak test (beat at -l info) sees the periodic re-sync; `make run` logs warnings only.
        logger.info("beat: schedule read from the database (%d entries)", len(schedule))
        return schedule

    def apply_entry(self, entry, producer=None):
        if sent_in_this_period(entry.schedule, self._sent_at.get(entry.name)):
            logger.warning(
                "beat: %s was sent at %s, in this period already: not sent again",
                entry.name,
                self._sent_at[entry.name],
            )
            return
        self._sent_at[entry.name] = entry.schedule.now()
        headers = entry.options.setdefault("headers", {})
        public = get_public_schema_name()
        if not headers.get("_all_tenants_only") and headers.get("_schema_name") == public:
            logger.info("beat: Sending due task %s (%s) to public", entry.name, entry.task)
            with schema_context(public):
                try:
                    self.apply_async(entry, producer=producer, advance=False)
                except Exception:  # as the parent does: one failed send must not stop beat
                    logger.exception("beat: sending %s failed", entry.name)
            return
        super().apply_entry(entry, producer=producer)
