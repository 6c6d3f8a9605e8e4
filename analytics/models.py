"""Customer lifetime value: the fitted models and each member's historic and predicted value."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.admin_display import local_time
from members.models import Member


class CustomerValueFit(models.Model):
    """The BG/NBD and Gamma-Gamma parameters fitted on the purchase history up to `as_of`
    (times in weeks, spend in the purchases' currency). The Gamma-Gamma parameters are empty when
    no member had bought twice: expected spend is then the member's own average."""

    as_of = models.DateTimeField(_("as of"))
    r = models.FloatField(help_text=_("BG/NBD: shape of the purchase-rate distribution."), verbose_name=_("r"))
    alpha = models.FloatField(
        help_text=_("BG/NBD: scale (weeks) of the purchase-rate distribution."), verbose_name=_("alpha")
    )
    a = models.FloatField(help_text=_("BG/NBD: dropout-probability Beta(a, b)."), verbose_name=_("a"))
    b = models.FloatField(help_text=_("BG/NBD: dropout-probability Beta(a, b)."), verbose_name=_("b"))
    log_likelihood = models.FloatField(_("BG/NBD log-likelihood"))
    customers = models.PositiveIntegerField(_("customers fitted"), help_text=_("Members with a purchase by then."))
    p = models.FloatField(
        null=True, blank=True, help_text=_("Gamma-Gamma: shape of spend per purchase."), verbose_name=_("p")
    )
    q = models.FloatField(
        null=True, blank=True, help_text=_("Gamma-Gamma: shape of the spend scale."), verbose_name=_("q")
    )
    gamma = models.FloatField(
        null=True, blank=True, help_text=_("Gamma-Gamma: scale of the spend scale."), verbose_name=_("gamma")
    )
    spend_log_likelihood = models.FloatField(_("Gamma-Gamma log-likelihood"), null=True, blank=True)
    repeat_buyers = models.PositiveIntegerField(_("repeat buyers fitted"), default=0)
    converged = models.BooleanField(_("converged"), help_text=_("Whether the optimiser reported convergence."))
    seconds = models.FloatField(_("fit time (s)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer value fit")
        verbose_name_plural = _("customer value fits")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(r__gt=0, alpha__gt=0, a__gt=0, b__gt=0), name="customer_value_fit_bgnbd_positive"
            ),
            models.CheckConstraint(
                condition=Q(p__isnull=True, q__isnull=True, gamma__isnull=True, spend_log_likelihood__isnull=True)
                | Q(p__gt=0, q__gt=1, gamma__gt=0, spend_log_likelihood__isnull=False),
                name="customer_value_fit_spend_all_or_none",
            ),
            models.CheckConstraint(
                condition=Q(repeat_buyers__lte=F("customers")), name="customer_value_fit_repeat_within_customers"
            ),
            models.CheckConstraint(condition=Q(seconds__gte=0), name="customer_value_fit_seconds_not_negative"),
        ]

    def __str__(self):
        return _("Customer value fit as of %(moment)s") % {"moment": local_time(self.as_of)}


class MemberValue(models.Model):
    """One member's value as of the last `customer_value` run: what they spent (net of returns
    recorded by then) and what the fitted models predict for the next 12 months. Only members who
    had bought by then have one."""

    member = models.OneToOneField(
        Member, primary_key=True, on_delete=models.CASCADE, related_name="value", verbose_name=_("member")
    )
    as_of = models.DateTimeField(_("as of"))
    fit = models.ForeignKey(CustomerValueFit, on_delete=models.PROTECT, related_name="+", verbose_name=_("fit"))
    frequency = models.PositiveIntegerField(_("repeat purchases"), help_text=_("Purchase days after the first."))
    recency_days = models.PositiveIntegerField(_("recency (days)"), help_text=_("First to last purchase day."))
    age_days = models.PositiveIntegerField(_("age (days)"), help_text=_("First purchase day to the as-of day."))
    historic_12m = models.DecimalField(_("spend, last 12 months"), max_digits=14, decimal_places=2)
    historic_lifetime = models.DecimalField(_("spend, lifetime"), max_digits=14, decimal_places=2)
    expected_purchases_12m = models.FloatField(_("expected purchases, next 12 months"))
    p_alive = models.FloatField(_("probability alive"))
    expected_spend = models.DecimalField(_("expected spend per purchase"), max_digits=14, decimal_places=2)
    predicted_12m = models.DecimalField(_("predicted value, next 12 months"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("member value")
        verbose_name_plural = _("member values")
        ordering = ["-predicted_12m"]
        constraints = [
            models.CheckConstraint(condition=Q(p_alive__gte=0, p_alive__lte=1), name="member_value_p_alive_range"),
            models.CheckConstraint(
                condition=Q(historic_12m__gte=0, historic_lifetime__gte=F("historic_12m")),
                name="member_value_historic_range",
            ),
            models.CheckConstraint(
                condition=Q(expected_purchases_12m__gte=0, expected_spend__gte=0, predicted_12m__gte=0),
                name="member_value_predictions_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(recency_days__lte=F("age_days")), name="member_value_recency_within_age"
            ),
        ]
        indexes = [
            models.Index(fields=["p_alive"], name="member_value_p_alive"),
            models.Index(fields=["predicted_12m"], name="member_value_predicted"),
        ]

    def __str__(self):
        return _("Value of %(member)s") % {"member": self.member}


class AnalyticsToken(models.Model):
    """A staff user's token for the read-only analytics API (BI tools): only its SHA-256 digest is
    kept; the token is shown once when created. It acts as its user, so it stops working when the
    user is no longer active staff, and it can be revoked. Store API keys never reach analytics."""

    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="analytics_tokens", verbose_name=_("staff user")
    )
    label = models.CharField(_("label"), max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("digest"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("analytics API token")
        verbose_name_plural = _("analytics API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.label} ({self.user})"


class DailySales(models.Model):
    """Net revenue and purchases per local day, store and channel, kept by the nightly
    `refresh_daily_sales` job so the dashboard's revenue figures do not scan every receipt.
    Net of the returns recorded by the day's last refresh."""

    day = models.DateField(_("day"))
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    channel = models.CharField(_("channel"), max_length=20)
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2)
    purchases = models.PositiveIntegerField(_("purchases"))

    class Meta:
        verbose_name = _("daily sales")
        verbose_name_plural = _("daily sales")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "store", "channel"], name="daily_sales_one_row_per_day_store_channel"
            ),
            models.CheckConstraint(condition=Q(purchases__gt=0), name="daily_sales_has_purchases"),
        ]

    def __str__(self):
        return f"{self.day} {self.store_id} {self.channel}"
