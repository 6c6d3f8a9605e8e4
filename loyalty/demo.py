"""A believable, repeatable demo: stores on every channel, members with a long-tailed spread of
loyalty, 18 months of seasonal purchases, returns, redemptions and staff adjustments.

Everything goes through the services, so the ledger it leaves is as consistent as production's.
The same seed and size give the same people, baskets and dates.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from faker import Faker

from campaigns.models import Badge, BadgeKind, Campaign, CampaignKind, CampaignMessage, GrantType
from campaigns.services import campaign_launch
from feedback.complaints import complaint_change_status, complaint_file
from feedback.models import ComplaintStatus, FollowUpKind, FollowUpOutcome, LeaveReason, WinBackChance
from feedback.services import feedback_record, follow_up_record, lost_customer_interview_record
from jobs.registry import NIGHTLY_ORDER
from jobs.services import job_run_now
from loyalty.errors import DomainError
from members.models import Member
from members.services import member_enroll, member_suspend, purchase_record, purchase_return
from rewards.catalog import reward_redeem, voucher_consume
from rewards.earning import BasketLine, earning_setup_invalidate
from rewards.models import EarningRule, Reward, RewardKind
from rewards.services import points_adjust, points_redeem
from stores.models import Channel, Store
from stores.services import store_get_or_create
from tiers.models import Tier
from tiers.selectors import tiers_invalidate

STORES = [
    ("Shanghai Nanjing Road", Channel.STORE, "Shanghai"),
    ("Beijing Sanlitun", Channel.STORE, "Beijing"),
    ("Guangzhou Tianhe", Channel.STORE, "Guangzhou"),
    ("Chengdu Taikoo Li", Channel.STORE, "Chengdu"),
    ("Online Shop", Channel.ONLINE, ""),
    ("Phone Orders", Channel.PHONE, ""),
    ("Mail Order Catalogue", Channel.MAIL_ORDER, ""),
]

# category: (skus, low price, high price, weight)
CATALOGUE = {
    "coffee": (["LATTE", "AMERICANO", "FLAT-WHITE", "MOCHA"], 18, 42, 40),
    "pastry": (["CROISSANT", "MUFFIN", "MOONCAKE"], 12, 38, 20),
    "beans": (["BEANS-YUNNAN", "BEANS-ETHIOPIA", "BEANS-HOUSE"], 68, 198, 15),
    "tea": (["OOLONG", "PUER", "LONGJING"], 25, 260, 12),
    "merchandise": (["MUG", "TUMBLER", "TOTE"], 49, 199, 8),
    "equipment": (["GRINDER", "POUR-OVER-KIT", "ESPRESSO-MACHINE"], 199, 3999, 5),
}

# code, name, 12-month spend, earn multiplier, benefits. A VIP card is not a discount card (seed 003).
TIERS = [
    ("member", "Member", Decimal(0), Decimal("1.00"), "Points on every purchase; birthday treat."),
    ("silver", "Silver", Decimal(2000), Decimal("1.25"), "1.25x points; free size upgrade on drinks."),
    ("gold", "Gold", Decimal(8000), Decimal("1.50"), "1.5x points; new-product tastings; free grinder service."),
    ("black", "Black", Decimal(20000), Decimal("2.00"), "2x points; club events; trade-in of old equipment."),
]

# Purchases per month by month of year: the Singles' Day and year-end peaks, a summer lull.
SEASON = {1: 1.1, 2: 1.2, 3: 0.9, 4: 0.9, 5: 1.0, 6: 0.9, 7: 0.8, 8: 0.8, 9: 1.0, 10: 1.0, 11: 1.5, 12: 1.4}


@dataclass
class DemoSummary:
    stores: int
    members: int
    purchases: int
    returns: int
    redemptions: int


class DemoBuilder:
    def __init__(self, *, seed: int, members: int, months: int):
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.size = members
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=30 * months)
        self.summary = DemoSummary(0, 0, 0, 0, 0)
        self.receipt_seq = 0

    def build(self) -> DemoSummary:
        stores = [store_get_or_create(name=n, channel=c, city=city) for n, c, city in STORES]
        self.summary.stores = len(stores)
        self._earning_rules(stores)
        self._tiers()
        staff = self._staff()
        members = []
        for i in range(self.size):
            members.append(self._enroll(i, stores, members))
        self.summary.members = len(members)
        for member in members:
            self._history(member, stores)
        self._redemptions(members, stores)
        self._staff_touches(members, staff)
        self._listening(members, stores, staff)
        for job in NIGHTLY_ORDER:
            job_run_now(name=job, triggered_by="demo data")
        _Campaigns(self, stores).build()
        return self.summary

    def _listening(self, members, stores, staff) -> None:
        _Listening(self, members, stores, staff).build()

    def _tiers(self) -> None:
        for rank, (code, name, threshold, multiplier, benefits) in enumerate(TIERS, start=1):
            # A fresh database already has the default tiers (tiers migration 0002) under the same
            # codes and ranks: the demo gives them its own story rather than adding more.
            Tier.objects.update_or_create(
                code=code,
                defaults=dict(name=name, rank=rank, threshold=threshold, earn_multiplier=multiplier, benefits=benefits),
            )
        tiers_invalidate()

    def _earning_rules(self, stores: list[Store]) -> None:
        singles_day = self.now.replace(month=11, day=11, hour=0, minute=0, second=0)
        if singles_day > self.now:
            singles_day = singles_day.replace(year=singles_day.year - 1)
        rules = [
            dict(name="Coffee beans double points", multiplier=Decimal(2), category="beans"),
            dict(name="Online shop bonus", multiplier=Decimal("1.5"), channel=Channel.ONLINE),
            dict(
                name="Singles' Day triple points",
                multiplier=Decimal(3),
                starts_at=singles_day,
                ends_at=singles_day + timedelta(days=1),
            ),
        ]
        for rule in rules:
            EarningRule.objects.get_or_create(name=rule["name"], defaults=rule)
        earning_setup_invalidate()

    def _staff(self):
        user, created = get_user_model().objects.get_or_create(
            username="marketing", defaults={"is_staff": True, "first_name": "Li", "last_name": "Na"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        return user

    def _enroll(self, index: int, stores: list[Store], earlier: list[Member]) -> Member:
        store = self.rng.choice(stores)
        referrer = self.rng.choice(earlier) if index > 20 and self.rng.random() < 0.1 else None
        member = member_enroll(
            phone=f"+86139{index:08d}",
            name=self.fake.name(),
            email=f"member{index}@example.cn" if self.rng.random() < 0.7 else "",
            birthday=self.fake.date_of_birth(minimum_age=18, maximum_age=75),
            referral_code=referrer.referral_code if referrer else "",
            consent_marketing=self.rng.random() < 0.6,
            store=store,
            channel=store.channel,
        )
        enrolled_at = self.start + timedelta(seconds=self.rng.randrange(int((self.now - self.start).total_seconds())))
        Member.objects.filter(pk=member.pk).update(enrolled_at=enrolled_at)
        member.enrolled_at = enrolled_at
        return member

    def _history(self, member: Member, stores: list[Store]) -> None:
        # A long tail: most people buy a few times, a fifth buy often (the 80/20 of seed 003).
        roll = self.rng.random()
        if roll < 0.12:
            return  # a prospect: known, never bought
        per_month = self.rng.choice([0.2, 0.3, 0.5]) if roll < 0.8 else self.rng.uniform(0.8, 3.0)
        home = self.rng.choice(stores[:4])
        day = member.enrolled_at
        while True:
            gap = self.rng.expovariate(per_month * SEASON[day.month] / 30)
            day = day + timedelta(days=gap, hours=self.rng.uniform(-3, 3))
            if day >= self.now:
                return
            store = home if self.rng.random() < 0.75 else self.rng.choice(stores)
            purchase = self._purchase(member, store, day)
            if self.rng.random() < 0.03:
                self._return(purchase, store)

    def _purchase(self, member: Member, store: Store, when: datetime):
        self.receipt_seq += 1
        lines = [self._line() for _ in range(self.rng.choice([1, 1, 1, 2, 2, 3]))]
        total = sum((line.amount for line in lines), Decimal(0))
        self.summary.purchases += 1
        return purchase_record(
            member=member,
            store=store,
            receipt_id=f"D{self.receipt_seq:07d}",
            channel=store.channel,
            occurred_at=when,
            total=total,
            lines=lines,
        )

    def _line(self) -> BasketLine:
        categories = list(CATALOGUE)
        category = self.rng.choices(categories, weights=[CATALOGUE[c][3] for c in categories])[0]
        skus, low, high, _ = CATALOGUE[category]
        price = Decimal(self.rng.randint(low, high))
        return BasketLine(self.rng.choice(skus), category, self.rng.choice([1, 1, 1, 2]), price)

    def _return(self, purchase, store: Store) -> None:
        share = self.rng.choice([Decimal("0.5"), Decimal(1)])
        amount = (purchase.total * share).quantize(Decimal("0.01"))
        purchase_return(purchase=purchase, store=store, receipt_id=f"RET-{purchase.receipt_id}", amount=amount)
        self.summary.returns += 1

    def _redemptions(self, members: list[Member], stores: list[Store]) -> None:
        for member in Member.objects.filter(points_balance__gte=100).order_by("pk"):
            if self.rng.random() < 0.4:
                points = self.rng.randint(50, member.points_balance)
                store = self.rng.choice(stores)
                self.receipt_seq += 1
                points_redeem(member=member, points=points, receipt_id=f"D{self.receipt_seq:07d}", store=store)
                self.summary.redemptions += 1

    def _staff_touches(self, members: list[Member], staff) -> None:
        for member in self.rng.sample(members, min(10, len(members))):
            try:
                points_adjust(member=member, points=50, reason="Goodwill: delayed online order", staff_user=staff)
            except DomainError:
                continue
        for member in self.rng.sample(members, min(3, len(members))):
            member_suspend(member=member, reason="Repeated return fraud (demo)")


COMMENTS = [
    ("Best flat white in the city.", 10),
    ("Friendly staff, but the queue at lunchtime is long.", 7),
    ("Beans were stale last time.", 4),
    ("Love the points; the birthday coffee was a nice surprise!", 9),
    ("Delivery took a week.", 3),
]
COMPLAINTS = [
    ("delivery", "high", "My online order arrived with a broken grinder."),
    ("staff", "medium", "The barista was rude when I asked for oat milk."),
    ("loyalty", "low", "My points from last Tuesday are missing."),
    ("product", "medium", "The croissant was stale."),
]


class _Listening:
    """Feedback, complaints in every state, follow-ups and lost-customer interviews."""

    def __init__(self, builder: "DemoBuilder", members, stores, staff):
        self.rng, self.members, self.stores, self.staff = builder.rng, members, stores, staff

    def build(self) -> None:
        buyers = list(Member.objects.filter(purchase_count__gt=0).order_by("pk"))
        for member in self.rng.sample(buyers, min(150, len(buyers))):
            comment, nps = self.rng.choice(COMMENTS)
            feedback_record(member=member, store=self.rng.choice(self.stores), nps=nps, comment=comment)
        for index, member in enumerate(self.rng.sample(buyers, min(24, len(buyers)))):
            self._complaint(index, member)
        for member in self.rng.sample(buyers, min(12, len(buyers))):
            follow_up_record(
                member=member,
                kind=FollowUpKind.THANK_YOU_CALL,
                staff_user=self.staff,
                happened_at=timezone.now() - timedelta(days=self.rng.randint(1, 60)),
                outcome=FollowUpOutcome.REACHED,
                notes="Thanked them for being a regular.",
                suggestions=self.rng.choice(["More seats upstairs.", "Decaf options.", ""]),
            )
        for member in self.rng.sample(buyers, min(6, len(buyers))):
            lost_customer_interview_record(
                member=member,
                staff_user=self.staff,
                happened_at=timezone.now() - timedelta(days=self.rng.randint(1, 30)),
                reason=self.rng.choice(LeaveReason.values),
                competitor=self.rng.choice(["Luckin", "Manner", ""]),
                can_win_back=self.rng.choice(WinBackChance.values),
            )

    def _complaint(self, index: int, member) -> None:
        category, severity, text = COMPLAINTS[index % len(COMPLAINTS)]
        complaint = complaint_file(
            text=text, category=category, severity=severity, member=member, store=self.rng.choice(self.stores)
        )
        steps = [ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED][: index % 4]
        for status in steps:
            complaint_change_status(
                complaint=complaint, status=status, actor=self.staff, resolution="Apologised and replaced the item."
            )


REWARDS = [  # name, kind, points, stock, currency value, description
    ("New-roast tasting for two", RewardKind.EXPERIENCE, 150, 40, None, "Taste next month's beans before anyone else."),
    ("Free size upgrade", RewardKind.SERVICE, 60, None, None, "Any drink, one size up."),
    ("Grinder service and clean", RewardKind.SERVICE, 300, 20, None, "Bring your grinder; we return it like new."),
    ("Roastery club evening", RewardKind.EVENT, 500, 25, None, "An evening at the roastery with the head roaster."),
    ("10 yuan off", RewardKind.DISCOUNT, 100, None, Decimal(10), "Off any purchase of 30 yuan or more."),
    ("Welcome-back latte", RewardKind.FREE_PRODUCT, 80, None, Decimal(28), "A latte on us: we missed you."),
]


class _Campaigns:
    """A catalog that is not only discounts, some vouchers, and one campaign of each kind."""

    def __init__(self, builder: "DemoBuilder", stores):
        self.rng, self.stores, self.now = builder.rng, stores, builder.now

    def build(self) -> None:
        rewards = {
            name: Reward.objects.create(
                name=name,
                kind=kind,
                cost_points=cost,
                stock=stock,
                value=value,
                description=text,
                voucher_valid_days=60,
            )
            for name, kind, cost, stock, value, text in REWARDS
        }
        for member in Member.objects.filter(points_balance__gte=300, status="active").order_by("pk")[:40]:
            voucher = reward_redeem(
                reward=rewards["Free size upgrade"], member=member, store=self.rng.choice(self.stores)
            )
            if self.rng.random() < 0.5:
                voucher_consume(voucher=voucher, store=self.rng.choice(self.stores), receipt_id=f"V-{voucher.pk}")
        explorer = Badge.objects.create(code="explorer", name="Explorer", kind=BadgeKind.NEW_CATEGORY)
        month_ago = self.now - timedelta(days=30)
        specs = [
            dict(name="Birthday treat", kind=CampaignKind.BIRTHDAY, grant_type=GrantType.POINTS, points=200),
            dict(
                name="Win them back",
                kind=CampaignKind.WIN_BACK,
                grant_type=GrantType.VOUCHER,
                reward=rewards["Welcome-back latte"],
                offer_days=30,
            ),
            dict(name="Bring a friend", kind=CampaignKind.REFERRAL, points=300, holdout_percent=0),
            dict(name="Explorer badge", kind=CampaignKind.BADGE, badge=explorer, points=50, holdout_percent=0),
            dict(name="Surprise our best", kind=CampaignKind.SURPRISE, points=500, max_members=60),
        ]
        for spec in specs:
            campaign = Campaign.objects.create(starts_at=month_ago, **{"holdout_percent": 10, **spec})
            CampaignMessage.objects.create(
                campaign=campaign,
                language="zh-hans",
                subject=f"{campaign.name}, {{name}}",
                body="Thank you for being with us. {points} points {voucher_code}",
            )
            campaign_launch(campaign=campaign)
            job_run_now(name="campaign", as_of=self.now, params={"campaign": campaign.pk}, triggered_by="demo data")


def build_demo(*, seed: int = 42, members: int = 2000, months: int = 18) -> DemoSummary:
    return DemoBuilder(seed=seed, members=members, months=months).build()
