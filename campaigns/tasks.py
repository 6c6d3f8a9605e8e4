from celery import shared_task

from jobs.tasks import start_job

from .services import campaign_runs_due


@shared_task(name="campaigns.run_due")
def run_due_campaigns() -> int:
    """Start a run of every campaign due today; each run fans out in chunks like the nightly jobs."""
    due = campaign_runs_due()
    for campaign_id in due:
        start_job.delay("campaign", False, "schedule", {"campaign": campaign_id})
    return len(due)
