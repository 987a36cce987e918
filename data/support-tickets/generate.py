"""Write the synthetic support-ticket triage data set (train.jsonl, heldout.jsonl) beside this file.

Every ticket is made up: templates and slot values written for this project, combined with a
fixed seed. Run ``python data/support-tickets/generate.py`` to rebuild the files; the output is
byte-identical from run to run (``tests/senior/test_triage_data.py`` checks that).

About a quarter of the tickets are "hard": they mention words of another category (a bug on the
invoice page, a charge after a cancellation, a request to pay by invoice), so a keyword rule
cannot reach perfect accuracy while a model that reads the whole sentence can.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20261127
N_TRAIN = 600
N_HELDOUT = 200
LABELS = ("billing", "account", "bug", "feature", "cancel")

SLOTS: dict[str, list[str]] = {
    "amount": ["$12.99", "$49", "$240", "$19.00", "$99", "€35", "£18", "$1,200", "$7.50", "$360"],
    "plan": ["Pro plan", "Team plan", "Business tier", "Starter plan", "annual plan", "monthly plan", "Enterprise plan"],
    "month": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    "area": ["dashboard", "calendar view", "file upload", "search", "notifications", "kanban board", "reports page", "comments", "mobile app", "timeline"],
    "client": ["Chrome", "Firefox", "Safari", "Edge", "the iOS app", "the Android app", "the desktop app"],
    "symptom": ["error 500", "a blank white screen", "a spinner that never stops", "\"Something went wrong\"", "a 404 page", "a frozen tab", "error code E-1042"],
    "tool": ["Slack", "Jira", "Google Drive", "Outlook", "Zapier", "GitHub", "Salesforce", "Notion"],
    "n": ["2", "3", "4", "5", "12", "30", "150"],
    "name": ["Maria", "Tom", "Aisha", "Kenji", "Lucas", "Priya", "Olga", "Sam", "Fatima", "Jonas"],
    "format": ["PDF", "Excel", "CSV", "Markdown", "iCal"],
    "competitor": ["another tool", "a competitor", "an in-house system", "a cheaper product"],
}

EASY: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for the {plan} this month, {amount} each time.",
        "My card was billed {amount} but my plan should cost less. Can you check the charge?",
        "Please send me an invoice for the {month} payment, our accountant needs it.",
        "How do I add our VAT number to the invoices?",
        "The payment for the {plan} failed and my card is fine. Why was it declined?",
        "Can I get a refund for the {amount} charge from {month}? We upgraded by mistake.",
        "Our receipt shows the wrong company address, please correct the billing details.",
        "We were charged {amount} for {n} extra seats we never added.",
        "I need to change the credit card used for the subscription payment.",
        "Why did the price of the {plan} go up on my last invoice?",
        "Is the proration for the upgrade to the {plan} correct? I paid {amount}.",
        "Do you accept payment by bank transfer for the annual invoice?",
    ],
    "account": [
        "I forgot my password and the reset email never arrives.",
        "I lost my phone and can't pass two-factor authentication anymore.",
        "My account is locked after too many login attempts.",
        "How do I change the email address I use to sign in?",
        "Please remove {name} from our workspace, they left the company.",
        "I want to transfer ownership of the workspace to {name}.",
        "Single sign-on with our identity provider stopped letting people log in.",
        "Can you merge my two accounts? I signed up twice with different emails.",
        "How do I invite {n} colleagues to my team workspace?",
        "I can't log in, it says my username does not exist.",
        "Please reset the 2FA on my account, I got a new phone.",
        "How can I change my display name and profile picture?",
    ],
    "bug": [
        "The {area} shows {symptom} in {client} since this morning.",
        "When I open the {area} in {client} I get {symptom}.",
        "Changes I make in the {area} are not saved after I reload the page.",
        "The {area} crashes every time I scroll down in {client}.",
        "Sync with {tool} creates duplicate tasks, {n} copies of each.",
        "Dates in the {area} are shown one day off, looks like a timezone problem.",
        "Drag and drop stopped working on the {area} in {client}.",
        "The {area} loads forever and then shows {symptom}.",
        "Attachments uploaded from {client} appear empty when downloaded.",
        "Notifications arrive {n} times for the same comment.",
        "The search returns nothing for words that are clearly in my documents.",
        "Since the last update the {area} is broken in {client}.",
    ],
    "feature": [
        "It would be great to have a dark mode.",
        "Please add an integration with {tool}.",
        "Could you add keyboard shortcuts for the {area}?",
        "We would love to export reports as {format}.",
        "Is there any plan to support bulk editing of tasks?",
        "Please add recurring tasks, we need them every week.",
        "Can you make the {area} customizable? We want to hide some columns.",
        "A public API endpoint for comments would help us a lot.",
        "Feature request: let us set custom colors for labels.",
        "It would help if the {area} had a filter by assignee.",
        "Could you support offline mode in {client}?",
        "We'd like a read-only guest role for clients.",
    ],
    "cancel": [
        "Please cancel our subscription at the end of this period.",
        "I want to close my account and stop all future payments.",
        "We are moving to {competitor}, please end our {plan}.",
        "How do I cancel? I don't see the option in settings.",
        "Do not renew our {plan}, we no longer need it.",
        "Please terminate our contract and delete the workspace.",
        "We are shutting down the team, cancel everything for us.",
        "I'd like to stop using the product, please cancel my plan.",
        "Our trial ends tomorrow and we don't want to continue, please cancel.",
        "Cancel the {plan} for {name}'s workspace, they no longer work here.",
    ],
}

# Tickets of one category that use words the others own (the reason a keyword rule fails).
HARD: dict[str, list[str]] = {
    "billing": [
        "I cancelled in {month} but you still charged me {amount}. I want that money back.",
        "After cancelling the {plan} I was billed again, please reverse the payment.",
        "The export of my invoices is fine, but the amounts on them are wrong: I paid {amount}, not more.",
        "Your app shows the payment went through but my bank shows {n} charges.",
        "I cancelled {n} seats last week, why does the new invoice still charge for them?",
    ],
    "account": [
        "I get an \"invalid code\" error every time I enter my two-factor code.",
        "The login page shows {symptom} when I try to reset my password.",
        "Please cancel the invitation I sent to {name}, wrong email address.",
        "I need a new admin for billing, please give {name} admin rights on the workspace.",
        "Could you add {name} back to our workspace? I removed them by mistake.",
    ],
    "bug": [
        "The invoice page shows {symptom} when I click download.",
        "The cancel button on the {area} does nothing in {client}.",
        "I was charged correctly but the billing page crashes in {client}.",
        "The login form freezes in {client} after I type my password.",
        "Export to {format} produces an empty file, it used to work.",
        "The password reset link gives {symptom}.",
    ],
    "feature": [
        "Could you add an option to pay by invoice instead of card?",
        "Please add a way to cancel a meeting invite directly from the {area}.",
        "It would be nice to download all invoices at once as a {format}.",
        "Please add single sign-on with {tool} for login.",
        "We'd like a setting that lets admins reset passwords for their team.",
    ],
    "cancel": [
        "Please cancel our plan and refund the unused months of the {plan}.",
        "The app keeps showing {symptom} and we've had enough, please close our account.",
        "We won't pay another invoice, end the subscription now.",
        "Stop charging my card, I want to cancel and delete my account.",
        "Because of constant bugs in the {area} we are leaving, cancel the {plan}.",
    ],
}

OPENERS = ["", "", "", "Hi, ", "Hello, ", "Hi team, ", "Hello support, ", "Urgent: ", "Quick question: ", "Good morning, "]
CLOSERS = ["", "", "", " Thanks!", " Thank you.", " Thanks, {name}", " Regards, {name}", " Please help asap.", " Cheers.", " (ticket #{ticket})"]
HARD_SHARE = 0.25


def _fill(template: str, rng: random.Random) -> str:
    out = template
    for slot, values in SLOTS.items():
        while "{" + slot + "}" in out:
            out = out.replace("{" + slot + "}", rng.choice(values), 1)
    return out.replace("{ticket}", str(rng.randint(10000, 99999)))


def _split(templates: list[str], phrasing: str) -> list[str]:
    """Every fourth template (index 3, 7, ...) is kept out of training: "new" phrasings."""
    new = [t for i, t in enumerate(templates) if i % 4 == 3]
    return new if phrasing == "new" else [t for t in templates if t not in new]


def _ticket(label: str, phrasing: str, rng: random.Random) -> dict:
    hard = rng.random() < HARD_SHARE
    body = _fill(rng.choice(_split((HARD if hard else EASY)[label], phrasing)), rng)
    opener = rng.choice(OPENERS)
    if opener and body[0].isupper() and not body.startswith("I "):
        body = body[0].lower() + body[1:]
    text = (opener + body + _fill(rng.choice(CLOSERS), rng)).strip()
    if rng.random() < 0.1:
        text = text.lower()
    return {"text": text, "label": label, "hard": hard, "phrasing": phrasing}


def _draw(n: int, phrasing: str, rng: random.Random, seen: set[str]) -> list[dict]:
    rows: list[dict] = []
    while len(rows) < n:
        row = _ticket(LABELS[len(rows) % len(LABELS)], phrasing, rng)
        if row["text"] not in seen:
            seen.add(row["text"])
            rows.append(row)
    return rows


def generate() -> tuple[list[dict], list[dict]]:
    """(train, heldout), label-balanced, no text in both.

    Train uses three of every four templates. Held-out is half tickets from those templates
    (new slot values, ``phrasing = "seen"``) and half from templates training never saw
    (``phrasing = "new"``), so it measures generalisation, not only memorised wording.
    """
    rng = random.Random(SEED)
    seen: set[str] = set()
    train = _draw(N_TRAIN, "seen", rng, seen)
    heldout = _draw(N_HELDOUT // 2, "seen", rng, seen) + _draw(N_HELDOUT - N_HELDOUT // 2, "new", rng, seen)
    rng.shuffle(train)
    rng.shuffle(heldout)
    out = []
    for split in (train, heldout):
        out.append([
            {"id": f"T{len(out) * N_TRAIN + i:04d}", "text": r["text"], "label": r["label"], "hard": r["hard"], "phrasing": r["phrasing"]}
            for i, r in enumerate(split, start=1)
        ])
    return out[0], out[1]


def main() -> None:
    here = Path(__file__).resolve().parent
    train, heldout = generate()
    for name, rows in (("train.jsonl", train), ("heldout.jsonl", heldout)):
        with open(here / name, "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(train)} train and {len(heldout)} held-out tickets to {here}")


if __name__ == "__main__":
    main()
