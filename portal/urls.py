from django.urls import path

from . import views
from .security import portal_csp


def page(route: str, view, name: str):
    """A portal route, served under the portal's Content-Security-Policy."""
    return path(route, portal_csp(view), name=name)


app_name = "portal"

urlpatterns = [
    page("", views.home, name="home"),
    page("sign-in/", views.sign_in, name="sign_in"),
    page("sign-in/email/", views.sign_in_email, name="sign_in_email"),
    page("sign-in/code/", views.verify, name="verify"),
    page("sign-out/", views.sign_out, name="sign_out"),
    page("sign-out/everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    page("history/", views.history, name="history"),
    page("history/purchases/<str:public_id>/", views.purchase_detail, name="purchase"),
    page("rewards/", views.rewards, name="rewards"),
    page("rewards/<int:reward_id>/redeem/", views.redeem, name="redeem"),
    page("vouchers/", views.vouchers, name="vouchers"),
    page("vouchers/<str:public_id>/", views.voucher, name="voucher"),
    page("vouchers/<str:public_id>/cancel/", views.voucher_cancel, name="voucher_cancel"),
    page("profile/", views.profile, name="profile"),
    page("profile/consent/", views.consent, name="consent"),
    page("referral/", views.referral, name="referral"),
    page("join/<str:code>/", views.join, name="join"),
    page("surveys/", views.surveys, name="surveys"),
    page("surveys/<str:public_id>/", views.survey, name="survey"),
    page("complaints/", views.complaints, name="complaints"),
    page("complaints/new/", views.complaint_new, name="complaint_new"),
    page("complaints/<str:public_id>/", views.complaint, name="complaint"),
    page("my-data/", views.my_data, name="my_data"),
    page("my-data/download/", views.data_download, name="data_download"),
    page("my-data/close/", views.account_close, name="account_close"),
    page("closed/", views.closed, name="closed"),
]
