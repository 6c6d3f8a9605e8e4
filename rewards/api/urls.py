from django.urls import path

from . import catalog_views, views

urlpatterns = [
    path("members/<str:member_id>/ledger/", views.MemberLedgerView.as_view(), name="member-ledger"),
    path("rewards/", catalog_views.RewardListView.as_view(), name="reward-list"),
    path("rewards/<str:reward_id>/redeem/", catalog_views.RewardRedeemView.as_view(), name="reward-redeem"),
    path("vouchers/<str:code>/", catalog_views.VoucherDetailView.as_view(), name="voucher-detail"),
    path("vouchers/<str:code>/consume/", catalog_views.VoucherConsumeView.as_view(), name="voucher-consume"),
    path("vouchers/<str:code>/cancel/", catalog_views.VoucherCancelView.as_view(), name="voucher-cancel"),
    path("redemptions/", views.RedemptionCreateView.as_view(), name="redemption-create"),
    path("redemptions/<str:redemption_id>/", views.RedemptionDetailView.as_view(), name="redemption-detail"),
    path("redemptions/<str:redemption_id>/cancel/", views.RedemptionCancelView.as_view(), name="redemption-cancel"),
]
