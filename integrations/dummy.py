"""Realistic demo events in each source's own raw format, so the real mappers run.

A customer pool shared across sources (customer N is the same person in GTM, the pixel and Shopify) and
personas that fill every analysis segment: page-view-only visitors, cart abandoners, buyers, repeat buyers,
big spenders (> 100) and engaged customers (3+ event types). The signals the intelligence features look for
are there too: orders follow product bundles (co-purchases for the recommendations), repeat buyers come back,
churners were last seen weeks ago, some first visits are anonymous until checkout and some pixel customers are
known only by their hashed e-mail (identity stitching). The same seed yields the same events and ids.
"""

import hashlib
import random
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

PRODUCTS = [
    ("1001", "Logo Tee", "24.00"),
    ("1002", "Canvas Tote", "18.50"),
    ("1003", "Blue Mug", "12.00"),
    ("1004", "Trail Socks", "9.90"),
    ("1005", "Rain Jacket", "89.00"),
    ("1006", "Wool Beanie", "29.00"),
    ("1007", "Daypack", "64.00"),
    ("1008", "Trail Boot", "149.00"),
    ("1009", "Down Parka", "329.00"),
    ("1010", "Tent 2P", "249.00"),
    ("1011", "Sleeping Bag", "119.00"),
    ("1012", "Camp Stove", "54.00"),
    ("1013", "Headlamp", "29.50"),
    ("1014", "Rain Pants", "69.00"),
    ("1015", "Pack Cover", "19.00"),
    ("1016", "Water Bottle", "16.00"),
    ("1017", "Trekking Poles", "79.00"),
    ("1018", "Wool Gloves", "34.00"),
    ("1019", "Base Layer", "59.00"),
    ("1020", "Pour-over Kit", "39.00"),
    ("1021", "Coffee Beans", "14.50"),
    ("1022", "Hand Grinder", "45.00"),
    ("1023", "Sticker Pack", "6.00"),
    ("1024", "Enamel Pin", "8.00"),
    ("1025", "Yoga Mat", "42.00"),
    ("1026", "Foam Roller", "27.00"),
    ("1027", "Resistance Bands", "19.50"),
    ("1028", "Sleeping Pad", "89.00"),
    ("1029", "Camp Pillow", "24.00"),
    ("1030", "Dry Bag", "22.00"),
    ("1031", "Bike Light", "35.00"),
    ("1032", "Bike Lock", "49.00"),
    ("1033", "Cycling Gloves", "28.00"),
    ("1034", "Sun Hat", "26.00"),
    ("1035", "Sunscreen", "12.50"),
    ("1036", "Beach Towel", "31.00"),
]
BY_ID = {product[0]: product for product in PRODUCTS}
# Products bought together: a customer's orders follow one bundle, anchor first (the co-purchase signal the
# recommendations find). The first bundles are the most common (popularity is skewed, as in real shops).
BUNDLES = [
    ("1001", "1002", "1023", "1024"),  # merch
    ("1005", "1014", "1015", "1004"),  # rain
    ("1003", "1020", "1021", "1022"),  # coffee
    ("1008", "1004", "1017", "1016"),  # hiking
    ("1025", "1026", "1027", "1016"),  # training
    ("1010", "1011", "1028", "1029"),  # camping (premium)
    ("1009", "1006", "1018", "1019"),  # winter (premium)
    ("1031", "1032", "1033", "1016"),  # cycling
    ("1034", "1035", "1036", "1030"),  # beach
    ("1007", "1013", "1012", "1030"),  # day trip
]
PREMIUM_BUNDLES = (5, 6)
CHEAP_BUNDLES = tuple(index for index in range(len(BUNDLES)) if index not in PREMIUM_BUNDLES)
FIRST = ["Ada", "Ben", "Chloe", "Dan", "Eva", "Finn", "Grace", "Hugo", "Iris", "Jack", "Kira", "Leo", "Maya", "Noah"]
LAST = ["Smith", "Jones", "Garcia", "Muller", "Rossi", "Dubois", "Novak", "Silva", "Kim", "Okafor", "Berg"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
]
# Persona of customer N = PERSONAS[N % 10]: browsers, abandoners, buyers, repeat, big spender, engaged.
PERSONAS = ["browser", "abandoner", "buyer", "engaged", "browser", "repeat", "abandoner", "big", "buyer", "browser"]
SITE = "https://demo-shop.example.com"

GA4_NAMES = {"lead": "generate_lead", "custom": "newsletter_signup"}
META_NAMES = {
    "page_view": "PageView",
    "view_item": "ViewContent",
    "search": "Search",
    "add_to_cart": "AddToCart",
    "begin_checkout": "InitiateCheckout",
    "add_payment_info": "AddPaymentInfo",
    "purchase": "Purchase",
    "sign_up": "CompleteRegistration",
    "lead": "Lead",
    "custom": "Subscribe",
}
SHOPIFY_NAMES = {
    "page_view": "page_viewed",
    "view_item": "product_viewed",
    "search": "search_submitted",
    "add_to_cart": "product_added_to_cart",
    "remove_from_cart": "product_removed_from_cart",
    "begin_checkout": "checkout_started",
    "add_payment_info": "payment_info_submitted",
    "purchase": "order",
    "refund": "refund",
    "sign_up": "customer",
    "custom": "collection_viewed",
}


def customer_profile(number: int) -> dict:
    """Customer N of the shared pool: the same id, name and e-mail whichever source generates it.

    Besides the persona: the bundle its orders follow, whether it is a churner (all its visits 6-12 weeks ago),
    whether its first visit starts anonymous (identified at checkout: stitching joins the two), and whether the
    pixel knows it only by its hashed e-mail (joined to its shop id by the same hash)."""
    first, last = FIRST[number % len(FIRST)], LAST[(number // len(FIRST)) % len(LAST)]
    persona = PERSONAS[number % len(PERSONAS)]
    pick = zlib.crc32(f"bundle:{number}".encode()) % 100
    cheap = CHEAP_BUNDLES[min(int((pick / 100) ** 2 * len(CHEAP_BUNDLES)), len(CHEAP_BUNDLES) - 1)]
    return {
        "id": f"cust_{number:06d}",
        "first": first,
        "last": last,
        "email": f"{first.lower()}.{last.lower()}.{number}@example.com",
        "persona": persona,
        "bundle": BUNDLES[PREMIUM_BUNDLES[number % 2] if persona == "big" else cheap],
        "churner": persona in ("buyer", "repeat") and (number // 10) % 3 == 1,
        "anonymous_first": (number // 10) % 4 == 2,
        "pixel_email_only": (number // 10) % 5 == 3,  # the pixel sends its hashed e-mail, never its user id
    }


def _product(person: dict, order: int, rng: random.Random) -> tuple:
    """The product of a customer's `order`-th purchase (or visit): its bundle in order, sometimes anything."""
    if rng.random() < 0.1:
        return BY_ID[rng.choice(rng.choice(BUNDLES))]
    bundle = person["bundle"]
    return BY_ID[bundle[order % len(bundle)]]


def _session_steps(persona: str, rng: random.Random) -> list[str]:
    if persona == "browser":
        return ["page_view"] * rng.randint(1, 3)
    if persona == "abandoner":
        steps = ["page_view", "view_item", "add_to_cart"]
        return steps + (["remove_from_cart"] if rng.random() < 0.4 else ["begin_checkout"])
    if persona == "engaged":
        return ["page_view", "search", "view_item", "sign_up", "lead", "custom"]
    buy = ["view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"]
    if persona == "repeat":  # comes back for one to three more orders (dated days apart below)
        return ["page_view", *buy] + ["purchase"] * rng.randint(1, 3)
    if persona == "big":
        return ["page_view", *buy, "refund"] if rng.random() < 0.3 else ["page_view", *buy]
    return ["page_view", "search", *buy] if rng.random() < 0.5 else ["page_view", *buy]


def canonical_stream(*, count: int, seed) -> Iterator[dict]:
    """`count` canonical demo events (type, customer, product, time, ids), in session order."""
    rng = random.Random(f"dummy:{seed}")
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    pool = max(10, min(count // 6, 250_000))
    seed_tag = zlib.crc32(str(seed).encode()) % 100_000
    produced, session = 0, 0
    visits: dict[int, int] = {}  # sessions so far per customer: their orders walk through their bundle
    while produced < count:
        number = session % pool if session < pool else rng.randrange(pool)
        person = customer_profile(number)
        visit = visits[number] = visits.get(number, -1) + 1
        steps = _session_steps(person["persona"], rng)
        if session < len(PERSONAS) and session == 1:  # small runs still show the whole funnel and a refund
            steps = ["page_view", "view_item", "add_to_cart", "remove_from_cart"]
        if session == 7:
            steps = [*steps, "refund"] if "refund" not in steps else steps
        recent = person["persona"] not in ("browser",) or rng.random() < 0.5
        days_ago = rng.uniform(42, 85) if person["churner"] else rng.uniform(0, 20 if recent else 85)
        if person["persona"] == "repeat" and not person["churner"]:
            days_ago += 30  # room for its later orders before today
        start = anchor - timedelta(days=days_ago, seconds=rng.randint(0, 86_399))
        product = _product(person, visit, rng)
        quantity = 1 if person["persona"] != "big" else rng.randint(1, 2)
        session_id = f"s{seed_tag}-{session}"
        order = f"{seed_tag}{session:09d}"
        # A first visit that starts anonymous is identified at checkout (or sign-up): its earlier steps carry
        # only the browser's ids. Every event ends up with a customer once the pipeline stitches them.
        identifying = [steps.index(name) for name in ("begin_checkout", "sign_up", "purchase") if name in steps]
        whole = produced + len(steps) <= count  # a visit cut off by the end of the run stays identified
        anonymous_until = min(identifying) if visit == 0 and person["anonymous_first"] and identifying and whole else 0
        repeat_order = 0
        for step_index, step in enumerate(steps):
            if produced >= count:
                return
            moment = start + timedelta(minutes=step_index * rng.uniform(0.5, 4))
            if step == "purchase" and step_index > 0 and steps[step_index - 1] == "purchase":
                repeat_order += 1  # a repeat buyer's next order, days later: the bundle's next product
                gap = rng.randint(1, 4) if person["churner"] else rng.randint(3, 9)  # a churner stays gone
                moment += timedelta(days=repeat_order * gap)
                order = f"{seed_tag}{session:09d}{repeat_order + 1}"
                product = _product(person, visit + repeat_order, rng)
            yield {
                "type": step,
                "customer": person,
                "identified": step_index >= anonymous_until,
                "product": product,
                "quantity": quantity,
                "occurred_at": min(moment, anchor),  # never in the future: anchor is the start of today (UTC)
                "session_id": session_id,
                "event_id": f"d{seed_tag}-{session}-{step_index}",
                "order_id": order,
                "user_agent": AGENTS[number % len(AGENTS)],
                "client_id": f"{1700000000 + number}.{number * 7919 % 10_000_000}",
            }
            produced += 1
        session += 1


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def to_gtm(event: dict) -> dict | None:
    if _tracker_missed(event, "gtm"):
        return None
    product_id, title, price = event["product"]
    kind, person = event["type"], event["customer"]
    total = f"{float(price) * event['quantity']:.2f}"
    raw = {
        "tagId": "tag-ga4-ecommerce",
        "triggerId": f"trigger-{kind}",
        "eventName": GA4_NAMES.get(kind, kind),
        "eventId": event["event_id"],
        "pageUrl": f"{SITE}/products/{product_id}" if kind != "page_view" else f"{SITE}/",
        "clientId": event["client_id"],
        "sessionId": event["session_id"],
        "timestamp": _iso(event["occurred_at"]),
        "userAgent": event["user_agent"],
    }
    if kind in (
        "view_item",
        "add_to_cart",
        "remove_from_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
        "refund",
    ):
        raw.update(
            value=total,
            currency="USD",
            items=[{"item_id": product_id, "item_name": title, "price": price, "quantity": event["quantity"]}],
        )
    if kind in ("purchase", "refund"):
        raw["transactionId"] = event["order_id"]
    if kind == "search":
        raw["searchTerm"] = title.split()[-1].lower()
    if event["identified"]:
        raw["userId"] = person["id"]
        if kind in ("sign_up", "purchase", "lead"):
            raw["userEmail"] = person["email"]
    return raw


def _tracker_missed(event: dict, tracker: str) -> bool:
    """Browser trackers miss some orders, as they do in real shops: the pixel loses most Safari purchases
    (Intelligent Tracking Prevention) and a few others, the GA4 tag a few to ad blockers. Deterministic per order."""
    if event["type"] != "purchase":
        return False
    roll = zlib.crc32(f"{tracker}:{event['order_id']}".encode()) % 100
    agent = event["user_agent"]
    safari = "Safari" in agent and "Chrome" not in agent or "iPhone" in agent
    if tracker == "pixel":
        return roll < (55 if safari else 6)
    return roll < 8


def to_pixel(event: dict) -> dict | None:
    kind, person = event["type"], event["customer"]
    if kind not in META_NAMES or _tracker_missed(event, "pixel"):
        return None  # Meta has no standard remove_from_cart / refund event; or the pixel missed the order
    product_id, _title, price = event["product"]
    raw = {
        "eventId": event["order_id"] if kind == "purchase" else event["event_id"],
        "pixelId": "100000000000001",
        "eventName": META_NAMES[kind],
        "pageUrl": f"{SITE}/products/{product_id}",
        "timestamp": _iso(event["occurred_at"]),
        "userAgent": event["user_agent"],
        "fbp": f"fb.1.{event['client_id'].replace('.', '')}",
    }
    email_sha256 = hashlib.sha256(person["email"].encode()).hexdigest()
    if event["identified"] and person["pixel_email_only"]:  # a server-side setup sending only the hashed e-mail
        raw["emailSha256"] = email_sha256
    elif event["identified"]:
        raw["userId"] = person["id"]
        if kind in ("purchase", "lead", "sign_up"):
            raw["emailSha256"] = email_sha256
    if kind not in ("page_view", "search", "sign_up", "lead", "custom"):
        raw.update(value=f"{float(price) * event['quantity']:.2f}", currency="USD", contentIds=[product_id])
    if kind == "purchase":
        raw["orderId"] = event["order_id"]
    return raw


def to_shopify(event: dict) -> dict | None:
    kind, person = event["type"], event["customer"]
    if kind not in SHOPIFY_NAMES:
        return None  # Shopify has no lead event
    product_id, title, price = event["product"]
    raw = {
        "eventName": SHOPIFY_NAMES[kind],
        "eventId": event["event_id"],
        "clientId": event["client_id"],
        "sessionId": event["session_id"],
        "timestamp": _iso(event["occurred_at"]),
        "userAgent": event["user_agent"],
        "pageUrl": f"{SITE}/products/{product_id}",
        "productId": product_id,
        "productTitle": title,
        "productPrice": price,
        "quantity": event["quantity"],
        "currency": "USD",
    }
    if event["identified"]:
        raw["customerId"] = person["id"]
    if event["identified"] and kind in ("purchase", "refund", "sign_up"):
        raw.update(customerEmail=person["email"], customerFirstName=person["first"], customerLastName=person["last"])
    if kind in ("purchase", "refund"):
        raw.update(orderId=event["order_id"], totalPrice=f"{float(price) * event['quantity']:.2f}")
        raw["refundId"] = f"r{event['order_id']}"
    if kind == "search":
        raw["searchTerm"] = title.split()[-1].lower()
    return raw


RENDERERS = {"gtm": to_gtm, "facebook_pixel": to_pixel, "shopify": to_shopify}


def raw_stream(*, source_type: str, count: int, seed) -> Iterator[dict]:
    """Exactly `count` raw events in the source's own format (events a provider cannot express are replaced)."""
    render = RENDERERS[source_type]
    produced = 0
    stream = canonical_stream(count=count * 2, seed=seed)
    for event in stream:
        raw = render(event)
        if raw is None:
            continue
        yield raw
        produced += 1
        if produced >= count:
            return
