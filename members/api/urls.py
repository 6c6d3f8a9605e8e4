from django.urls import path

from . import views

urlpatterns = [
    path("members/", views.MemberEnrollView.as_view(), name="member-enroll"),
    path("members/lookup/", views.MemberLookupView.as_view(), name="member-lookup"),
    path("members/<str:member_id>/", views.MemberDetailView.as_view(), name="member-detail"),
    path("purchases/", views.PurchaseCreateView.as_view(), name="purchase-create"),
    path("purchases/<str:purchase_id>/returns/", views.PurchaseReturnView.as_view(), name="purchase-return"),
    path("quotes/", views.QuoteView.as_view(), name="quote"),
]
