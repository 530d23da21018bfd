"""Fixed content of the demo help desk: companies, teams, tags and tickets."""

from __future__ import annotations

from typing import NamedTuple

ORGANIZATIONS = (
    "Northwind Traders",
    "Contoso Pharmacy",
    "Fabrikam Furniture",
    "Tailspin Air Charter",
    "Adventure Works Cycles",
    "Litware Labs",
)

AGENT_GROUPS = ("Tier 1 Support", "Billing", "Technical Support", "Escalations")

SHARING_AGREEMENTS = (
    ("Northwind IT partner desk", "https://northwind-it.example.com"),
    ("Fabrikam EU reseller desk", "https://fabrikam-eu.example.com"),
)

TAGS = (
    "api",
    "billing",
    "bug",
    "checkout",
    "enterprise",
    "export",
    "feature_request",
    "integration",
    "invoice",
    "login",
    "mobile_app",
    "onboarding",
    "outage",
    "password_reset",
    "refund",
    "shipping",
    "sla_breach",
    "sso",
    "trial",
    "vip",
)

#: Custom ticket fields of the help desk: id, and the values they take.
CUSTOM_FIELDS: dict[int, tuple[str, ...]] = {
    360001: ("billing", "orders", "account", "reporting", "mobile", "integrations"),
    360002: ("free", "team", "business", "enterprise"),
    360003: ("ORD-48213", "ORD-51007", "ORD-51998", "ORD-60412", "ORD-73055"),
    360004: ("4.12.0", "4.12.1", "4.13.0", "5.0.0-beta"),
    360005: ("Chrome 126", "Firefox 127", "Safari 17", "Edge 126"),
    360006: ("yes", "no"),
    360007: ("us-east", "eu-west", "ap-southeast"),
    360008: ("745", "1022", "3318", "5120", "8806"),
}

#: End users who file tickets: username, first and last name, organization index.
REQUESTERS = (
    ("dana.whitfield", "Dana", "Whitfield", 0),
    ("omar.haddad", "Omar", "Haddad", 0),
    ("lena.fischer", "Lena", "Fischer", 1),
    ("raj.patel", "Raj", "Patel", 1),
    ("maria.souza", "Maria", "Souza", 2),
    ("tom.becker", "Tom", "Becker", 2),
    ("yuki.tanaka", "Yuki", "Tanaka", 3),
    ("grace.obi", "Grace", "Obi", 3),
    ("pierre.martin", "Pierre", "Martin", 4),
    ("sofia.rossi", "Sofia", "Rossi", 4),
    ("ken.lee", "Ken", "Lee", 5),
    ("nina.berg", "Nina", "Berg", 5),
)


class Scenario(NamedTuple):
    """A ticket's text, type and the tags it usually carries."""

    subject: str
    description: str
    type: str
    tags: tuple[str, ...]


class Problem(NamedTuple):
    """A problem ticket and the incidents customers filed about it."""

    problem: Scenario
    incidents: tuple[Scenario, ...]


PROBLEMS = (
    Problem(
        Scenario(
            "Checkout returns 502 for carts with more than 50 items",
            "Engineering confirmed that large carts time out in the pricing service. "
            "Linking every customer report here until the fix ships.",
            "problem",
            ("bug", "checkout", "outage"),
        ),
        (
            Scenario(
                "Can't place our monthly order, error 502",
                "Every time we press Place order we get a Bad Gateway page. The cart has 74 items.",
                "incident",
                ("checkout", "bug"),
            ),
            Scenario(
                "Order page crashes at the last step",
                "Our buyer tried three times this morning; the page spins and then shows 502.",
                "incident",
                ("checkout",),
            ),
            Scenario(
                "Bulk order failing since yesterday",
                "We reorder the same 60 items weekly and since yesterday the checkout fails.",
                "incident",
                ("checkout", "enterprise"),
            ),
            Scenario(
                "502 Bad Gateway when paying",
                "Payment never goes through. Smaller orders seem to work, big ones don't.",
                "incident",
                ("checkout", "billing"),
            ),
            Scenario(
                "Urgent: cannot submit purchase order",
                "Quarter end is Friday and we cannot submit the order. Please escalate.",
                "incident",
                ("checkout", "vip"),
            ),
        ),
    ),
    Problem(
        Scenario(
            "SSO logins fail after identity provider certificate rotation",
            "SAML assertions signed with the new certificate are rejected. Fix in progress.",
            "problem",
            ("sso", "login", "bug"),
        ),
        (
            Scenario(
                "Nobody on our team can log in with SSO",
                "Since this morning our staff get 'Invalid SAML response' on the login page.",
                "incident",
                ("sso", "login"),
            ),
            Scenario(
                "Invalid SAML response error",
                "We rotated our IdP certificate last night as scheduled, now logins fail.",
                "incident",
                ("sso",),
            ),
            Scenario(
                "Locked out of the dashboard",
                "SSO redirect loops back to the login page. Password login is disabled for us.",
                "incident",
                ("sso", "login", "enterprise"),
            ),
            Scenario(
                "Single sign-on broken for new hires",
                "New employees added today can't get in; existing sessions still work.",
                "incident",
                ("sso", "onboarding"),
            ),
        ),
    ),
    Problem(
        Scenario(
            "Mobile app 4.13.0 crashes on launch on older Android devices",
            "Crash reports point to the new image cache on Android 9 and 10.",
            "problem",
            ("mobile_app", "bug"),
        ),
        (
            Scenario(
                "App closes immediately after the update",
                "Updated to 4.13 this morning and the app closes as soon as it opens.",
                "incident",
                ("mobile_app",),
            ),
            Scenario(
                "Drivers can't open the delivery app",
                "Half of our drivers' phones crash on start since the update. Android 9.",
                "incident",
                ("mobile_app", "shipping"),
            ),
            Scenario(
                "Crash on startup, Android",
                "Reinstalling did not help. Logs attached from a Galaxy A10.",
                "incident",
                ("mobile_app", "bug"),
            ),
        ),
    ),
)

SCENARIOS = (
    Scenario(
        "Charged twice for the June invoice",
        "Our card statement shows two charges of the same amount on June 1st.",
        "question",
        ("billing", "refund", "invoice"),
    ),
    Scenario(
        "How do I add a second billing contact?",
        "Our accountant needs to receive invoices too. Where can we add her email?",
        "question",
        ("billing", "invoice"),
    ),
    Scenario(
        "Refund for unused seats",
        "We reduced our team from 40 to 25 seats mid-cycle and expected a prorated refund.",
        "question",
        ("billing", "refund"),
    ),
    Scenario(
        "Password reset email never arrives",
        "I requested a reset four times. Nothing in spam either.",
        "incident",
        ("password_reset", "login"),
    ),
    Scenario(
        "Please upgrade us to the Business plan",
        "We need audit logs. Please upgrade the account and send a quote.",
        "task",
        ("billing", "enterprise"),
    ),
    Scenario(
        "CSV export cuts off after 10,000 rows",
        "The orders export stops at exactly 10,000 rows; we have about 14,000 orders.",
        "incident",
        ("export", "bug"),
    ),
    Scenario(
        "API returns 429 during nightly sync",
        "Our integration syncs inventory at 2 AM and gets rate limited halfway through.",
        "question",
        ("api", "integration"),
    ),
    Scenario(
        "Webhook deliveries delayed by hours",
        "Order webhooks arrive two to three hours late since Tuesday.",
        "incident",
        ("api", "integration", "sla_breach"),
    ),
    Scenario(
        "Feature request: dark mode in the dashboard",
        "Our night shift would love a dark theme.",
        "question",
        ("feature_request",),
    ),
    Scenario(
        "Shipment marked delivered but not received",
        "Tracking says delivered on Monday but nothing arrived at our warehouse.",
        "incident",
        ("shipping",),
    ),
    Scenario(
        "Wrong VAT number on invoices",
        "Our VAT number changed in March; invoices still show the old one.",
        "task",
        ("billing", "invoice"),
    ),
    Scenario(
        "Onboarding call for the new team",
        "We have twelve new users starting next week. Can we book a walkthrough?",
        "task",
        ("onboarding",),
    ),
    Scenario(
        "Two-factor codes rejected",
        "The authenticator codes are always rejected, even right after they appear.",
        "incident",
        ("login",),
    ),
    Scenario(
        "Cancel our trial before it converts",
        "We decided not to continue. Please make sure we are not charged.",
        "task",
        ("trial", "billing"),
    ),
    Scenario(
        "Report totals don't match the export",
        "The monthly revenue report shows a different total than the CSV export.",
        "question",
        ("export", "bug"),
    ),
    Scenario(
        "Add our new warehouse address",
        "Please add the Rotterdam warehouse as a shipping address on our account.",
        "task",
        ("shipping",),
    ),
    Scenario(
        "Integration with our ERP stopped syncing",
        "No orders have reached our ERP since the weekend; the connector shows green.",
        "incident",
        ("integration", "api", "enterprise"),
    ),
    Scenario(
        "Can we get a copy of our data?",
        "Legal asked for a full export of our account data for an audit.",
        "task",
        ("export",),
    ),
    Scenario(
        "Invoice PDF is blank",
        "Downloading last month's invoice gives an empty PDF.",
        "incident",
        ("invoice", "bug"),
    ),
    Scenario(
        "How do user roles work?",
        "What's the difference between a manager and an admin on our account?",
        "question",
        ("onboarding",),
    ),
    Scenario(
        "Payment method declined",
        "Our renewal failed with 'card declined' although the card works elsewhere.",
        "question",
        ("billing",),
    ),
    Scenario(
        "Push notifications stopped on iOS",
        "None of our staff get notifications since updating to iOS 17.5.",
        "incident",
        ("mobile_app",),
    ),
    Scenario(
        "Request: API endpoint for bulk price updates",
        "We change 3,000 prices each season; one call per item is too slow.",
        "question",
        ("api", "feature_request"),
    ),
    Scenario(
        "Damaged goods in last delivery",
        "Four chairs in order ORD-51998 arrived with broken legs. Photos attached.",
        "incident",
        ("shipping", "refund"),
    ),
    Scenario(
        "Set up SSO for our domain",
        "We'd like to require SSO with our Okta tenant for all users.",
        "task",
        ("sso", "enterprise"),
    ),
    Scenario(
        "Account locked after failed logins",
        "My account is locked. I think someone tried to guess my password.",
        "incident",
        ("login", "password_reset"),
    ),
    Scenario(
        "Tax exemption certificate",
        "We are a non-profit; attached is our exemption certificate for future invoices.",
        "task",
        ("billing", "invoice"),
    ),
    Scenario(
        "Slow dashboard in the EU region",
        "The dashboard takes 20 seconds to load from our Berlin office.",
        "incident",
        ("bug",),
    ),
    Scenario(
        "Change the account owner",
        "Our previous admin left the company. Please transfer ownership to me.",
        "task",
        ("login",),
    ),
    Scenario(
        "Do you offer a discount for annual billing?",
        "Considering switching from monthly to annual. What would it cost?",
        "question",
        ("billing", "trial"),
    ),
    Scenario(
        "Missing items in the warehouse report",
        "Items added in the last week are missing from the stock report.",
        "incident",
        ("export", "bug"),
    ),
    Scenario(
        "API key leaked, please rotate",
        "A developer pushed our API key to a public repository. Please revoke it now.",
        "incident",
        ("api", "vip"),
    ),
    Scenario(
        "Customs documents for international shipment",
        "Our shipment to Singapore is held at customs waiting for a commercial invoice.",
        "task",
        ("shipping", "invoice"),
    ),
    Scenario(
        "Extend our trial by two weeks",
        "Our evaluation was delayed by a holiday; could we get two more weeks?",
        "task",
        ("trial",),
    ),
    Scenario(
        "Calendar integration shows wrong time zone",
        "Deliveries booked for 9:00 show at 11:00 in our Google Calendar.",
        "incident",
        ("integration", "bug"),
    ),
    Scenario(
        "How to delete old users?",
        "We have 30 users who left; how do we remove them without losing their history?",
        "question",
        ("onboarding",),
    ),
    Scenario(
        "Contract renewal questions",
        "Our contract renews next month; we want to discuss volume pricing first.",
        "question",
        ("billing", "enterprise", "vip"),
    ),
    Scenario(
        "Mobile app can't scan barcodes",
        "The scanner screen stays black on our Zebra handhelds.",
        "incident",
        ("mobile_app", "shipping"),
    ),
    Scenario(
        "Sandbox environment request",
        "Our developers need a sandbox to test the new integration.",
        "task",
        ("api", "integration"),
    ),
    Scenario(
        "Receipt for our last payment",
        "Finance needs a receipt for the payment made on the 3rd.",
        "question",
        ("billing", "invoice"),
    ),
    Scenario(
        "Data missing after import",
        "We imported 2,000 customers from a CSV but only 1,640 appear.",
        "incident",
        ("onboarding", "bug"),
    ),
    Scenario(
        "Outage notification subscriptions",
        "How can our IT team subscribe to outage notifications?",
        "question",
        ("outage",),
    ),
    Scenario(
        "Printer labels print off-center",
        "Since the last update the shipping labels print 2 cm to the left.",
        "incident",
        ("shipping", "bug"),
    ),
    Scenario(
        "Merge two duplicate accounts",
        "We accidentally signed up twice. Please merge the two accounts into one.",
        "task",
        ("onboarding",),
    ),
    Scenario(
        "Is there an SLA for enterprise plans?",
        "Our procurement team asks for your response-time commitments in writing.",
        "question",
        ("enterprise", "sla_breach"),
    ),
)

#: Reasons agents give when they skip; an empty reason is the most common.
SKIP_REASONS = (
    "",
    "",
    "",
    "",
    "",
    "Needs billing access",
    "Waiting on engineering",
    "I have no idea.",
    "I am lost.",
    "Not my language",
    "Customer asked for a specific agent",
    "Needs a manager's approval",
    "Duplicate of another ticket I'm on",
    "Out of my product area",
    "Requires admin rights on the account",
    "Waiting for the customer's logs",
    "Going on break",
    "Shipping team should take this",
)

SATISFACTION_COMMENTS = {
    "good": ("Great support!", "Quick and friendly, thanks.", "Solved on the first reply.", ""),
    "bad": ("Took far too long.", "Problem is not actually fixed.", ""),
    "offered": ("",),
}

CHANNELS = ("web", "web", "web", "email", "email", "api", "mobile", "chat", "native_messaging")
