from .complaints import (
    MAX_COMPLAINT_TEXT,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
    ResponseTarget,
    Severity,
)
from .feedback import MAX_COMMENT, Feedback, FeedbackSource, GridPolicy
from .followups import FollowUp, FollowUpKind, FollowUpOutcome, LeaveReason, LostCustomerInterview, WinBackChance
from .surveys import Answer, InvitationStatus, Question, QuestionKind, Survey, SurveyInvitation, SurveyResponse

__all__ = [
    "MAX_COMMENT",
    "MAX_COMPLAINT_TEXT",
    "Answer",
    "Complaint",
    "ComplaintCategory",
    "ComplaintEvent",
    "ComplaintStatus",
    "EventKind",
    "Feedback",
    "FeedbackSource",
    "FollowUp",
    "FollowUpKind",
    "FollowUpOutcome",
    "GridPolicy",
    "InvitationStatus",
    "LeaveReason",
    "LostCustomerInterview",
    "Question",
    "QuestionKind",
    "ResponseTarget",
    "Severity",
    "Survey",
    "SurveyInvitation",
    "SurveyResponse",
    "WinBackChance",
]
