"""What the assistant says when the safety layer fires. Numbers come from clinic.yml.

Wording follows the safe-messaging rules (shared CLINICAL.md): resources first and
plainly, direct and warm, no method details, help works, the person is not left alone.
"""

from __future__ import annotations

from typing import List, Optional

from bot.settings import ClinicConfig, clinic_config

VARIANTS = ("emergency", "withdrawal", "third_party", "ideation", "concern")
LEVEL_ORDER = {"none": 0, "concern": 1, "crisis": 2, "emergency": 3}
# A signal in these categories is about someone else or a general question.
NOT_ABOUT_WRITER = frozenset({"third_party", "informational"})


def about_writer(categories) -> bool:
    """Whether a signal is about the person writing (no third-party/informational category)."""
    return not set(categories) & NOT_ABOUT_WRITER


def variant_for(level: str, categories: List[str]) -> str:
    """Which crisis wording fits: emergency, withdrawal, third_party, ideation or concern."""
    cats = set(categories)
    if "third_party" in cats:
        return "third_party"
    if level == "emergency":
        return "emergency"
    if cats & {"severe_withdrawal", "overdose", "dangerous_mixing"}:
        return "withdrawal"
    if level == "crisis":
        return "ideation"
    return "concern"


def resource_lines(cfg: ClinicConfig, substance_use: bool = False) -> List[str]:
    """One line per crisis resource; the substance-use line only where it fits."""
    lines = []
    for r in cfg.resources:
        if r.id == "samhsa" and not substance_use:
            continue
        lines.append(f"• {r.name}: {r.how}")
    return lines


def shown_resources(cfg: ClinicConfig, variant: str) -> List:
    """The resources a crisis message of this variant lists (SAMHSA only where it fits)."""
    substance_use = variant in ("withdrawal", "third_party")
    return [r for r in cfg.resources if r.id != "samhsa" or substance_use]


def crisis_payload(level: str, variant: str, cfg: Optional[ClinicConfig] = None) -> dict:
    """The crisis resources as data, for channels that can show them (the web widget).

    Same resources as :func:`crisis_message` for the variant, with what a phone needs to
    call or text them (``tel``, ``sms``, ``sms_body``); everything comes from clinic.yml.
    """
    cfg = cfg or clinic_config()

    def item(r) -> dict:
        return {
            "id": r.id,
            "name": r.name,
            "how": r.how,
            "tel": r.tel,
            "sms": r.sms,
            "sms_body": r.sms_body,
        }

    return {
        "level": level,
        "variant": variant,
        "emergency": item(cfg.emergency),
        "resources": [item(r) for r in shown_resources(cfg, variant)],
    }


def crisis_message(variant: str, cfg: Optional[ClinicConfig] = None) -> str:
    """The crisis response for one variant (see :data:`VARIANTS`)."""
    cfg = cfg or clinic_config()
    emergency = cfg.emergency.how[0].upper() + cfg.emergency.how[1:]
    if variant == "emergency":
        head = (
            f"{emergency} now. This is an emergency and you deserve help right away. "
            "If you can, tell someone near you. Please don't take anything more."
        )
        return "\n".join([head, "When you are safe, or while you wait:", *resource_lines(cfg)])
    if variant == "withdrawal":
        head = (
            "What you describe can be a serious withdrawal or overdose reaction. "
            "Please don't take extra clonazepam, and don't mix it with alcohol, opioids or "
            f"other sedatives. {emergency} now for a seizure, confusion, hallucinations, "
            "trouble breathing or if someone can't be woken. Contact your prescriber today."
        )
        return "\n".join([head, *resource_lines(cfg, substance_use=True)])
    if variant == "third_party":
        head = (
            "Thank you for looking out for them. If they are in immediate danger, "
            f"{cfg.emergency.how} now and stay with them if it is safe. "
            "The lines below also support people worried about someone else:"
        )
        return "\n".join([head, *resource_lines(cfg, substance_use=True)])
    if variant == "ideation":
        head = "You deserve support right now. Please reach out now, day or night:"
        tail = (
            f"If you are in immediate danger, {cfg.emergency.how}. I'm really glad you told me, "
            "and I'm sorry you're hurting this much. Help does work."
        )
        return "\n".join([head, *resource_lines(cfg), tail])
    # concern: the short safety line after an ordinary answer
    first = cfg.resources[0]
    return (
        f"If you ever feel unsafe or have thoughts of harming yourself, the {first.name} "
        f"is there: {first.how}. In an emergency, {cfg.emergency.how}."
    )


def next_steps_message(
    is_open: bool, cfg: Optional[ClinicConfig] = None, urgent: bool = False
) -> str:
    """What happens next after a handoff, depending on clinic hours."""
    cfg = cfg or clinic_config()
    clinic = cfg.clinic
    if is_open:
        when = "right away" if urgent else "as soon as they can"
        return (
            f"I've alerted the {clinic.name} team and someone will join this conversation "
            f"{when}. I'm staying here with you until they do. You can keep writing to me."
        )
    return (
        f"I've alerted the {clinic.name} team. The clinic is closed right now, so staff will "
        f"follow up when it reopens (hours: {clinic.hours_text()}). "
        "Please don't wait for us: use the lines above now, any time, day or night. "
        "I'm still here and you can keep writing to me."
    )


# The C-SSRS screen questions in plain language, in order (see shared CLINICAL.md).
CSSRS_QUESTIONS = {
    1: "In the past month, have you wished you were dead, or wished you could go to sleep "
    "and not wake up?",
    2: "In the past month, have you had any actual thoughts of killing yourself?",
    3: "Have you been thinking about how you might do this?",
    4: "Have you had these thoughts and had some intention of acting on them?",
    5: "Have you started to work out, or worked out, the details of how to end your life? "
    "Do you intend to carry out this plan?",
    6: "Have you ever done anything, started to do anything, or prepared to do anything to "
    "end your life (for example collected pills, wrote a note, gave things away)? "
    "If so, was it in the past 3 months?",
}


def screener_result_level(answers: dict) -> str:
    """C-SSRS screener triage: yes to 4, 5 or 6 is emergency; yes to 2 is crisis.

    ``answers`` maps question numbers (1-6) to True/False/None. A yes to 1 alone, or all
    no, stays at concern: a denial does not end the safety pathway by itself.
    """
    if any(answers.get(q) for q in (4, 5, 6)):
        return "emergency"
    if answers.get(2):
        return "crisis"
    return "concern"
