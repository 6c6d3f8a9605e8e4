from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.verify, name="verify"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("sign-out/everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("history/", views.history, name="history"),
    path("history/purchases/<str:public_id>/", views.purchase_detail, name="purchase"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/<int:reward_id>/redeem/", views.redeem, name="redeem"),
    path("vouchers/", views.vouchers, name="vouchers"),
    path("vouchers/<str:public_id>/", views.voucher, name="voucher"),
    path("vouchers/<str:public_id>/cancel/", views.voucher_cancel, name="voucher_cancel"),
    path("profile/", views.profile, name="profile"),
    path("profile/consent/", views.consent, name="consent"),
    path("referral/", views.referral, name="referral"),
    path("join/<str:code>/", views.join, name="join"),
    path("surveys/", views.surveys, name="surveys"),
    path("surveys/<str:public_id>/", views.survey, name="survey"),
    path("complaints/", views.complaints, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("complaints/<str:public_id>/", views.complaint, name="complaint"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/download/", views.data_download, name="data_download"),
    path("my-data/close/", views.account_close, name="account_close"),
    path("closed/", views.closed, name="closed"),
]
