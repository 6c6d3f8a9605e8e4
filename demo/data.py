"""A believable, repeatable demo: stores on every channel, members with a long-tailed spread of
loyalty, 18 months of seasonal purchases, returns, redemptions and staff adjustments.

Everything goes through the services, so the ledger it leaves is as consistent as production's.
The same seed and size give the same people, baskets and dates.

Each event happens under its own time (`time_machine.travel`): the services stamp entries, stage
and tier changes with `timezone.now()`, so a purchase replayed from last March is recorded as of
last March, with the validity, lapse and stage windows that follow from it. The story runs in two
acts: the history up to a campaign day some weeks ago (then the nightly jobs and the campaigns run
as of that day and their messages go out), and the weeks since, in which treated members come
back more often than the held-out ones, so the campaigns' measured results show it. The nightly
jobs run once more as of the end.
"""

import contextlib
import io
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from faker import Faker

from campaigns.models import Badge, BadgeKind, Campaign, CampaignKind, CampaignMessage, GrantType
from campaigns.services import campaign_launch
from core.errors import DomainError
from feedback.complaints import complaint_change_status, complaint_file
from feedback.models import ComplaintStatus, FollowUpKind, FollowUpOutcome, LeaveReason, WinBackChance
from feedback.services import feedback_record, follow_up_record, lost_customer_interview_record
from jobs.registry import NIGHTLY_ORDER
from jobs.services import job_run_now
from members.models import Category, Member, Purchase
from members.services import member_enroll, member_suspend, purchase_record, purchase_return
from messaging.models import MessageStatus, OutboxMessage
from messaging.services import outbox_send_due
from rewards.catalog import reward_redeem, voucher_consume
from rewards.earning import BasketLine, earning_setup_invalidate
from rewards.models import EarningRule, Reward, RewardKind, Voucher
from rewards.services import points_adjust, points_redeem
from stores.models import Channel, Store
from stores.services import store_get_or_create
from tiers.models import Tier
from tiers.selectors import tiers_invalidate

STORES = [
    ("上海南京路店", Channel.STORE, "上海"),
    ("北京三里屯店", Channel.STORE, "北京"),
    ("广州天河店", Channel.STORE, "广州"),
    ("成都太古里店", Channel.STORE, "成都"),
    ("天猫旗舰店", Channel.ONLINE, ""),
    ("电话订购", Channel.PHONE, ""),
    ("邮购目录", Channel.MAIL_ORDER, ""),
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

# The names staff read for the catalogue's categories (Settings > Categories).
CATEGORY_NAMES = {
    "coffee": "咖啡",
    "pastry": "烘焙",
    "beans": "咖啡豆",
    "tea": "茶",
    "merchandise": "周边",
    "equipment": "器具",
}

# code, name, 12-month spend, earn multiplier, benefits. A VIP card is not a discount card (seed 003).
TIERS = [
    ("member", "会员", Decimal(0), Decimal("1.00"), "每次消费都有积分；生日礼遇。"),
    ("silver", "银卡", Decimal(2000), Decimal("1.25"), "1.25 倍积分；饮品免费升杯。"),
    ("gold", "金卡", Decimal(8000), Decimal("1.50"), "1.5 倍积分；新品品鉴；磨豆机免费保养。"),
    ("black", "黑卡", Decimal(20000), Decimal("2.00"), "2 倍积分；会员活动；旧设备以旧换新。"),
]

# Purchases per month by month of year: the Singles' Day and year-end peaks, a summer lull.
SEASON = {1: 1.1, 2: 1.2, 3: 0.9, 4: 0.9, 5: 1.0, 6: 0.9, 7: 0.8, 8: 0.8, 9: 1.0, 10: 1.0, 11: 1.5, 12: 1.4}


# How much likelier a treated member is to buy in the offer window than without the campaign: the
# effect the demo's measurement should find (a story, not a claim about real campaigns).
CAMPAIGN_PULL = {
    CampaignKind.BIRTHDAY: 0.35,
    CampaignKind.WIN_BACK: 0.3,
    CampaignKind.SURPRISE: 0.25,
    CampaignKind.REFERRAL: 0.2,
    CampaignKind.BADGE: 0.1,
}


@dataclass
class DemoSummary:
    stores: int
    members: int
    purchases: int
    returns: int
    redemptions: int
    messages_sent: int = 0


@dataclass
class _Visit:
    """A purchase to replay: when, where, and whether it is (partly) returned a little later."""

    at: datetime
    store: Store
    returned: bool = False
    voucher: Voucher | None = None


@dataclass
class _Timeline:
    member: Member
    visits: list[_Visit] = field(default_factory=list)
    last_seen: datetime | None = None


class DemoBuilder:
    def __init__(self, *, seed: int, members: int, months: int):
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.size = members
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=30 * months)
        # The campaigns' day: long enough ago that their offer windows have closed.
        self.campaign_day = self.now - min(timedelta(days=40), (self.now - self.start) / 2)
        self.summary = DemoSummary(0, 0, 0, 0, 0)
        self.receipt_seq = 0
        self.clock = None

    def build(self) -> DemoSummary:
        with time_machine.travel(self.start, tick=False) as self.clock:
            stores = [store_get_or_create(name=n, channel=c, city=city) for n, c, city in STORES]
            self.summary.stores = len(stores)
            self._earning_rules(stores)
            self._tiers()
            staff = self._staff()
            timelines = self._enroll_all(stores)
            self.summary.members = len(timelines)
            for timeline in timelines:
                self._replay(timeline, until=self.campaign_day)
            self.clock.move_to(self.campaign_day)
            self._nightly_jobs()
            _Campaigns(self, stores).build(timelines)
            self.summary.messages_sent = self._send_messages(self.campaign_day + timedelta(minutes=5))
            for timeline in timelines:
                self._replay(timeline, until=self.now)
            members = [timeline.member for timeline in timelines]
            self._redemptions(timelines, stores)
            self._staff_touches(timelines, staff)
        # The present: what people said lately, then the nightly jobs as of now.
        self._listening(members, stores, staff)
        self._nightly_jobs()
        return self.summary

    def _at(self, when: datetime) -> None:
        self.clock.move_to(when)

    def _nightly_jobs(self) -> None:
        for job in NIGHTLY_ORDER:
            job_run_now(name=job, as_of=timezone.now(), triggered_by="demo data")

    def _send_messages(self, when: datetime) -> int:
        """Deliver what the jobs and campaigns queued, through the configured (logging, console)
        backends; their output is not the start-up output, so it is kept out of the terminal."""
        self._at(when)
        quiet = logging.getLogger("messaging.backends")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return outbox_send_due(limit=OutboxMessage.objects.filter(status=MessageStatus.PENDING).count())
        finally:
            quiet.setLevel(level)

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
        Category.objects.bulk_create(
            [Category(code=code, name=name) for code, name in CATEGORY_NAMES.items()], ignore_conflicts=True
        )
        singles_day = self.now.replace(month=11, day=11, hour=0, minute=0, second=0)
        if singles_day > self.now:
            singles_day = singles_day.replace(year=singles_day.year - 1)
        rules = [
            dict(name="咖啡豆双倍积分", multiplier=Decimal(2), category="beans"),
            dict(name="网店积分 1.5 倍", multiplier=Decimal("1.5"), channel=Channel.ONLINE),
            dict(
                name="双十一三倍积分",
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
            username="marketing", defaults={"is_staff": True, "first_name": "娜", "last_name": "李"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        return user

    def _enroll_all(self, stores: list[Store]) -> list[_Timeline]:
        """Everyone joins at their own moment, in time order (a referrer joined before the friend)."""
        span = int((self.now - self.start).total_seconds())
        moments = sorted(self.start + timedelta(seconds=self.rng.randrange(span)) for _ in range(self.size))
        timelines: list[_Timeline] = []
        for index, moment in enumerate(moments):
            self._at(moment)
            member = self._enroll(index, stores, [t.member for t in timelines])
            timelines.append(_Timeline(member, self._visits(member, stores), last_seen=moment))
        return timelines

    def _enroll(self, index: int, stores: list[Store], earlier: list[Member]) -> Member:
        store = self.rng.choice(stores)
        referrer = self.rng.choice(earlier) if index > 20 and self.rng.random() < 0.1 else None
        return member_enroll(
            phone=f"+86139{index:08d}",
            name=self.fake.name(),
            email=f"member{index}@example.cn" if self.rng.random() < 0.7 else "",
            birthday=self.fake.date_of_birth(minimum_age=18, maximum_age=75),
            referral_code=referrer.referral_code if referrer else "",
            consent_marketing=self.rng.random() < 0.6,
            store=store,
            channel=store.channel,
        )

    def _visits(self, member: Member, stores: list[Store]) -> list[_Visit]:
        # A long tail: most people buy a few times, a fifth buy often (the 80/20 of seed 003).
        roll = self.rng.random()
        if roll < 0.12:
            return []  # a prospect: known, never bought
        per_month = self.rng.choice([0.2, 0.3, 0.5]) if roll < 0.8 else self.rng.uniform(0.8, 3.0)
        home = self.rng.choice(stores[:4])
        visits, day = [], member.enrolled_at
        while True:
            gap = self.rng.expovariate(per_month * SEASON[day.month] / 30)
            day = day + timedelta(days=gap, hours=self.rng.uniform(-3, 3))
            if day >= self.now:
                return visits
            if visits and day <= visits[-1].at:
                continue
            store = home if self.rng.random() < 0.75 else self.rng.choice(stores)
            visits.append(_Visit(day, store, returned=self.rng.random() < 0.03))

    def _replay(self, timeline: _Timeline, *, until: datetime) -> None:
        """The member's visits before `until`, each at its own time; a return comes a day or so
        later (before the next visit)."""
        while timeline.visits and timeline.visits[0].at < until:
            visit = timeline.visits.pop(0)
            self._at(visit.at)
            purchase = self._purchase(timeline.member, visit.store, visit.at)
            timeline.last_seen = visit.at
            if visit.voucher is not None:
                voucher_consume(voucher=visit.voucher, store=visit.store, receipt_id=f"V-{purchase.receipt_id}")
            if visit.returned:
                following = timeline.visits[0].at if timeline.visits else until
                later = visit.at + timedelta(hours=self.rng.uniform(2, 48))
                timeline.last_seen = min(later, visit.at + (min(following, until) - visit.at) / 2)
                self._at(timeline.last_seen)
                self._return(purchase, visit.store)

    def come_back(self, timeline: _Timeline, *, store: Store, within: timedelta, voucher: Voucher | None = None):
        """A campaign worked: the member visits once more inside the offer window."""
        at = self.campaign_day + timedelta(seconds=self.rng.uniform(3600, within.total_seconds() - 3600))
        if at >= self.now or any(abs((v.at - at).total_seconds()) < 3600 for v in timeline.visits):
            return
        timeline.visits.append(_Visit(at, store, voucher=voucher))
        timeline.visits.sort(key=lambda v: v.at)

    def use_at_next_visit(self, timeline: _Timeline, voucher: Voucher) -> None:
        for visit in timeline.visits:
            if visit.voucher is None:
                visit.voucher = voucher
                return

    def _purchase(self, member: Member, store: Store, when: datetime) -> Purchase:
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

    def _lately(self, timeline: _Timeline) -> datetime:
        """A moment after everything the member did so far, before now."""
        since = max(timeline.last_seen, self.now - timedelta(days=30))
        timeline.last_seen = since + (self.now - since) * self.rng.uniform(0.1, 0.9)
        self._at(timeline.last_seen)
        return timeline.last_seen

    def _redemptions(self, timelines: list[_Timeline], stores: list[Store]) -> None:
        rich = set(Member.objects.filter(points_balance__gte=100).values_list("pk", flat=True))
        for timeline in timelines:
            if timeline.member.pk in rich and self.rng.random() < 0.4:
                self._lately(timeline)
                member = Member.objects.get(pk=timeline.member.pk)
                points = self.rng.randint(50, member.points_balance)
                store = self.rng.choice(stores)
                self.receipt_seq += 1
                points_redeem(member=member, points=points, receipt_id=f"D{self.receipt_seq:07d}", store=store)
                self.summary.redemptions += 1

    def _staff_touches(self, timelines: list[_Timeline], staff) -> None:
        for timeline in self.rng.sample(timelines, min(10, len(timelines))):
            self._lately(timeline)
            try:
                points_adjust(member=timeline.member, points=50, reason="补偿：网店订单延迟发货", staff_user=staff)
            except DomainError:
                continue
        for timeline in self.rng.sample(timelines, min(3, len(timelines))):
            self._lately(timeline)
            member_suspend(member=timeline.member, reason="多次恶意退货（演示数据）")


COMMENTS = [
    ("全城最好喝的馥芮白。", 10),
    ("店员很友好，但午饭时间排队太久。", 7),
    ("上次买的咖啡豆不新鲜。", 4),
    ("喜欢积分，生日咖啡是个惊喜！", 9),
    ("快递花了一个星期。", 3),
]
COMPLAINTS = [
    ("delivery", "high", "网上订的磨豆机到货时是坏的。"),
    ("staff", "medium", "我要燕麦奶时咖啡师态度很差。"),
    ("loyalty", "low", "上周二的积分没有到账。"),
    ("product", "medium", "可颂不新鲜。"),
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
                notes="感谢老顾客的长期支持。",
                suggestions=self.rng.choice(["楼上多放些座位。", "希望有低因咖啡。", ""]),
            )
        for member in self.rng.sample(buyers, min(6, len(buyers))):
            lost_customer_interview_record(
                member=member,
                staff_user=self.staff,
                happened_at=timezone.now() - timedelta(days=self.rng.randint(1, 30)),
                reason=self.rng.choice(LeaveReason.values),
                competitor=self.rng.choice(["瑞幸", "Manner", ""]),
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
                complaint=complaint, status=status, actor=self.staff, resolution="已致歉并更换商品。"
            )


REWARDS = [  # name, kind, points, stock, currency value, description
    ("新豆品鉴双人席", RewardKind.EXPERIENCE, 150, 40, None, "抢先品尝下个月的新豆。"),
    ("免费升杯", RewardKind.SERVICE, 60, None, None, "任意饮品升一个杯型。"),
    ("磨豆机保养清洁", RewardKind.SERVICE, 300, 20, None, "带来您的磨豆机，我们帮您保养如新。"),
    ("烘焙工坊会员之夜", RewardKind.EVENT, 500, 25, None, "与首席烘焙师共度烘焙工坊之夜。"),
    ("满30减10元", RewardKind.DISCOUNT, 100, None, Decimal(10), "消费满30元可用。"),
    ("欢迎回来拿铁", RewardKind.FREE_PRODUCT, 80, None, Decimal(28), "好久不见，请您喝杯拿铁。"),
]


class _Campaigns:
    """A catalog that is not only discounts, some vouchers, and one campaign of each kind, run on
    the campaign day; treated members then come back more often than the held-out ones."""

    def __init__(self, builder: "DemoBuilder", stores):
        self.builder, self.rng, self.stores = builder, builder.rng, stores

    def build(self, timelines: list[_Timeline]) -> None:
        by_member = {timeline.member.pk: timeline for timeline in timelines}
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
            voucher = reward_redeem(reward=rewards["免费升杯"], member=member, store=self.rng.choice(self.stores))
            if self.rng.random() < 0.5:
                self.builder.use_at_next_visit(by_member[member.pk], voucher)
        explorer = Badge.objects.create(code="explorer", name="探索者", kind=BadgeKind.NEW_CATEGORY)
        specs = [
            dict(name="生日礼遇", kind=CampaignKind.BIRTHDAY, grant_type=GrantType.POINTS, points=200),
            dict(
                name="老友回归",
                kind=CampaignKind.WIN_BACK,
                grant_type=GrantType.VOUCHER,
                reward=rewards["欢迎回来拿铁"],
                offer_days=30,
            ),
            dict(name="推荐好友", kind=CampaignKind.REFERRAL, points=300, holdout_percent=0),
            dict(name="探索者徽章", kind=CampaignKind.BADGE, badge=explorer, points=50, holdout_percent=0),
            dict(name="惊喜回馈", kind=CampaignKind.SURPRISE, points=500, max_members=60),
        ]
        as_of = timezone.now()
        for spec in specs:
            campaign = Campaign.objects.create(starts_at=as_of - timedelta(days=30), **{"holdout_percent": 10, **spec})
            for language, subject, body in [
                (
                    "zh-hans",
                    f"{campaign.name}：{{name}}，您好",
                    "感谢您一直以来的支持！{points} 积分已到账。{voucher_code}",
                ),
                (
                    "zh-hant",
                    f"{campaign.name}：{{name}}，您好",
                    "感謝您一直以來的支持！{points} 積分已入帳。{voucher_code}",
                ),
                (
                    "en",
                    "{name}, a thank-you from us",
                    "Thank you for being with us! {points} points are yours. {voucher_code}",
                ),
            ]:
                CampaignMessage.objects.create(campaign=campaign, language=language, subject=subject, body=body)
            campaign_launch(campaign=campaign)
            job_run_now(name="campaign", as_of=as_of, params={"campaign": campaign.pk}, triggered_by="demo data")
            self._pull(campaign, by_member)

    def _pull(self, campaign: Campaign, by_member: dict[int, _Timeline]) -> None:
        """Some treated members answer the campaign with a visit in its offer window."""
        treated = campaign.grants.filter(holdout=False).select_related("voucher").order_by("member_id")
        for grant in treated:
            if self.rng.random() < CAMPAIGN_PULL[campaign.kind]:
                self.builder.come_back(
                    by_member[grant.member_id],
                    store=self.rng.choice(self.stores),
                    within=timedelta(days=campaign.offer_days),
                    voucher=grant.voucher,
                )


def build_demo(*, seed: int = 42, members: int = 1500, months: int = 18) -> DemoSummary:
    return DemoBuilder(seed=seed, members=members, months=months).build()
