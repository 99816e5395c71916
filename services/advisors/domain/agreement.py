"""An advisor's agreement: the term, the monthly time commitment and the
compensation cap that every hour logged against it must respect."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from chassis.aggregate import Aggregate
from chassis.errors import Conflict, DomainError, FieldError, ValidationFailed
from contracts.advisors.agreements import (
    AgreementEnded,
    AgreementEndingSoon,
    AgreementRenewed,
    AgreementSigned,
    AgreementStatus,
    AgreementTerminated,
    Compensation,
    HoursKind,
    HoursLogged,
    ScopeCategory,
)
from contracts.api.advisors import Usage
from services.advisors.domain.events import registry

NOTICE_DAYS = 30

# ISO 4217 active codes (funds and precious metals left out on purpose).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
    BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV
    WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)
_CODE = re.compile(r"^[A-Z]{3}$")


class HoursOverCap(DomainError):
    """Logging these hours would exceed the monthly commitment or the cap."""

    code = "HoursOverCap"
    title = "Hours over the agreed cap"


class AgreementNotActive(DomainError):
    code = "AgreementNotActive"
    title = "Agreement not in force"


class AdvisorNotApproved(DomainError):
    """An agreement or engagement needs an approved, contracted or active advisor."""

    code = "AdvisorNotApproved"
    title = "Advisor not approved"


class NoActiveAgreement(DomainError):
    code = "NoActiveAgreement"
    title = "No agreement in force"


@registry.override
class StoredAgreementSigned(AgreementSigned):
    """As stored: with the scope written out, which is never published."""

    event_type: ClassVar[str] = "AgreementSigned"

    scope_text: str | None = None


def hours(minutes: int) -> str:
    """Minutes as an hours string for people ("1.5")."""
    # ``normalize`` alone writes 600 minutes as "1E+1": format as a plain decimal.
    return format((Decimal(minutes) / 60).quantize(Decimal("0.01")).normalize(), "f")


def validate_terms(
    starts_on: date, ends_on: date, hours_per_month: int, pay: Compensation
) -> None:
    """Raise ``ValidationFailed`` listing every inconsistent term."""
    errors: list[FieldError] = []
    if ends_on <= starts_on:
        errors.append(FieldError("ends_on", "must be after starts_on"))
    if not 1 <= hours_per_month <= 200:
        errors.append(FieldError("hours_per_month", "must be between 1 and 200"))
    if pay.pro_bono:
        if pay.rate_minor_units or pay.cap_minor_units:
            errors.append(
                FieldError("compensation", "a pro bono agreement has no rate or cap")
            )
    else:
        if pay.rate_minor_units is None:
            errors.append(
                FieldError("compensation.rate_minor_units", "required unless pro bono")
            )
        if pay.currency is None:
            errors.append(
                FieldError("compensation.currency", "required unless pro bono")
            )
        if pay.cap_minor_units is None and pay.cap_hours is None:
            errors.append(
                FieldError("compensation", "give cap_minor_units or cap_hours")
            )
    if pay.currency is not None and not (
        _CODE.match(pay.currency) and pay.currency in ISO_4217
    ):
        errors.append(
            FieldError("compensation.currency", "must be an ISO 4217 code (EUR, USD)")
        )
    if errors:
        raise ValidationFailed(errors)


class Agreement(Aggregate):
    """Signed → active (hours logged, renewed) → ended or terminated."""

    def initial_state(self) -> None:
        self.advisor_id = ""
        self.status = AgreementStatus.ACTIVE
        self.starts_on = date.min
        self.ends_on = date.min
        self.scope = ScopeCategory.MENTORING
        self.scope_text: str | None = None
        self.hours_per_month = 0
        self.compensation = Compensation(pro_bono=True)
        self.renewable = True
        self.minutes_by_month: dict[str, int] = {}
        self.logged_on: set[date] = set()
        self.total_minutes = 0
        self.cost_minor_units = 0
        self.ending_soon_raised = False

    # -- decisions ------------------------------------------------------------------

    @classmethod
    def sign(
        cls,
        agreement_id: str,
        tenant: str,
        *,
        advisor_id: str,
        starts_on: date,
        ends_on: date,
        scope: ScopeCategory,
        hours_per_month: int,
        compensation: Compensation,
        scope_text: str | None = None,
        renewable: bool = True,
    ) -> Agreement:
        validate_terms(starts_on, ends_on, hours_per_month, compensation)
        agreement = cls(agreement_id, tenant)
        agreement.initial_state()
        agreement._record(
            StoredAgreementSigned(
                agreement_id=agreement_id,
                advisor_id=advisor_id,
                starts_on=starts_on,
                ends_on=ends_on,
                scope=scope,
                hours_per_month=hours_per_month,
                compensation=compensation,
                renewable=renewable,
                scope_text=scope_text,
            )
        )
        return agreement

    def in_force_on(self, day: date) -> bool:
        return (
            self.status == AgreementStatus.ACTIVE
            and self.starts_on <= day <= self.ends_on
        )

    def cost_of(self, minutes: int) -> int:
        rate = self.compensation.rate_minor_units or 0
        if self.compensation.pro_bono or not rate:
            return 0
        exact = Decimal(rate) * Decimal(minutes) / 60
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def log_hours(
        self,
        minutes: int,
        on: date,
        kind: HoursKind,
        *,
        engagement_id: str | None = None,
    ) -> None:
        """Hours count against the month's commitment and the agreement's cap."""
        if minutes <= 0:
            raise ValidationFailed([FieldError("minutes", "must be positive")])
        if not self.in_force_on(on):
            raise AgreementNotActive(
                f"agreement {self.id} is not in force on {on.isoformat()} "
                f"({self.status}, {self.starts_on} to {self.ends_on})"
            )
        month = on.strftime("%Y-%m")
        left_month = self.hours_per_month * 60 - self.minutes_by_month.get(month, 0)
        if minutes > left_month:
            raise HoursOverCap(
                f"{hours(minutes)} h would exceed the {self.hours_per_month} h "
                f"committed for {month}: {hours(max(left_month, 0))} h left",
                remaining_minutes=max(left_month, 0),
                month=month,
            )
        pay = self.compensation
        if pay.cap_hours is not None:
            left_total = pay.cap_hours * 60 - self.total_minutes
            if minutes > left_total:
                raise HoursOverCap(
                    f"{hours(minutes)} h would exceed the cap of {pay.cap_hours} h: "
                    f"{hours(max(left_total, 0))} h left",
                    remaining_minutes=max(left_total, 0),
                )
        cost = self.cost_of(minutes)
        if pay.cap_minor_units is not None and not pay.pro_bono:
            left_money = pay.cap_minor_units - self.cost_minor_units
            if cost > left_money:
                raise HoursOverCap(
                    f"{hours(minutes)} h cost {cost} {pay.currency} minor units, "
                    f"over the cap: {max(left_money, 0)} {pay.currency} minor units "
                    "left",
                    remaining_minor_units=max(left_money, 0),
                    currency=pay.currency,
                )
        self._record(
            HoursLogged(
                agreement_id=self.id,
                advisor_id=self.advisor_id,
                minutes=minutes,
                on=on,
                kind=kind,
                cost_minor_units=cost,
                engagement_id=engagement_id,
            )
        )

    def renew(self, ends_on: date) -> None:
        if self.status == AgreementStatus.TERMINATED:
            raise AgreementNotActive(f"agreement {self.id} was terminated")
        if not self.renewable:
            raise AgreementNotActive(f"agreement {self.id} is not renewable")
        if ends_on <= self.ends_on:
            raise ValidationFailed(
                [FieldError("ends_on", f"must be after the current end {self.ends_on}")]
            )
        self._record(
            AgreementRenewed(
                agreement_id=self.id,
                advisor_id=self.advisor_id,
                previous_ends_on=self.ends_on,
                ends_on=ends_on,
            )
        )

    def terminate(self, on: date, reason_code: str) -> None:
        """Ended early: on a day of its term, after the last hours logged."""
        if self.status != AgreementStatus.ACTIVE:
            raise Conflict(f"agreement {self.id} is already {self.status}")
        last_logged = max(self.logged_on, default=self.starts_on)
        if on < last_logged:
            raise ValidationFailed(
                [
                    FieldError(
                        "on",
                        f"must be on or after {last_logged.isoformat()} (the start "
                        "of the term, or the last day hours were logged)",
                    )
                ]
            )
        self._record(
            AgreementTerminated(
                agreement_id=self.id,
                advisor_id=self.advisor_id,
                on=on,
                reason_code=reason_code,
            )
        )

    def check_term(self, today: date, notice_days: int = NOTICE_DAYS) -> None:
        """The sweep's rule: warn once near the end of term, end it when it is past."""
        if self.status != AgreementStatus.ACTIVE:
            return
        if today > self.ends_on:
            self._record(
                AgreementEnded(
                    agreement_id=self.id,
                    advisor_id=self.advisor_id,
                    ends_on=self.ends_on,
                )
            )
            return
        days_left = (self.ends_on - today).days
        if days_left <= notice_days and not self.ending_soon_raised:
            self._record(
                AgreementEndingSoon(
                    agreement_id=self.id,
                    advisor_id=self.advisor_id,
                    ends_on=self.ends_on,
                    days_left=days_left,
                )
            )

    # -- state ----------------------------------------------------------------------

    def usage(self, today: date) -> Usage:
        """Hours and money used in ``today``'s month and over the whole term."""
        pay = self.compensation
        month = today.strftime("%Y-%m")
        used = self.minutes_by_month.get(month, 0)
        left_money = None
        if pay.cap_minor_units is not None and not pay.pro_bono:
            left_money = max(pay.cap_minor_units - self.cost_minor_units, 0)
        left_minutes = None
        if pay.cap_hours is not None:
            left_minutes = max(pay.cap_hours * 60 - self.total_minutes, 0)
        return Usage(
            month=month,
            minutes_this_month=used,
            hours_this_month=hours(used),
            remaining_minutes_this_month=max(self.hours_per_month * 60 - used, 0),
            total_minutes=self.total_minutes,
            total_hours=hours(self.total_minutes),
            cost_minor_units=self.cost_minor_units,
            currency=pay.currency,
            remaining_minor_units=left_money,
            remaining_cap_minutes=left_minutes,
        )

    def when_AgreementSigned(self, e: AgreementSigned) -> None:
        self.advisor_id = e.advisor_id
        self.starts_on, self.ends_on = e.starts_on, e.ends_on
        self.scope = e.scope
        self.scope_text = getattr(e, "scope_text", None)
        self.hours_per_month = e.hours_per_month
        self.compensation = e.compensation
        self.renewable = e.renewable

    def when_HoursLogged(self, e: HoursLogged) -> None:
        self.logged_on.add(e.on)
        month = e.on.strftime("%Y-%m")
        self.minutes_by_month[month] = self.minutes_by_month.get(month, 0) + e.minutes
        self.total_minutes += e.minutes
        self.cost_minor_units += e.cost_minor_units

    def when_AgreementRenewed(self, e: AgreementRenewed) -> None:
        self.ends_on = e.ends_on
        self.status = AgreementStatus.ACTIVE
        self.ending_soon_raised = False

    def when_AgreementEndingSoon(self, _e: AgreementEndingSoon) -> None:
        self.ending_soon_raised = True

    def when_AgreementEnded(self, _e: AgreementEnded) -> None:
        self.status = AgreementStatus.ENDED

    def when_AgreementTerminated(self, _e: AgreementTerminated) -> None:
        self.status = AgreementStatus.TERMINATED
