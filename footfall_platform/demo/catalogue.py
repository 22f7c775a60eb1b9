"""The product catalogue, its popularity curve, the planted product pairs and the launches.

Fashion categories carry a shelf zone and a try-on probability because the RFID journeys (shelf,
fitting room, checkout) are simulated for them. Product pairs are planted here so the basket
simulation can add the partner item with a known probability: association-rule mining should
rediscover exactly these pairs with a high lift.

Launches are products that arrive with the catalogue update and only sell from their launch day,
and only to members whose planted taste (category and brand) they match: a recommender must
find them through their description, since they have no sales history before they launch. They
are fixed (no random draw), so adding them leaves every other product exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .words import ADJECTIVES, COLOURS, FEATURES


@dataclass(frozen=True)
class Category:
    """A product category with its price band and, for fashion, where RFID reads it."""

    name: str
    code: str
    share: float  # share of the catalogue's products
    demand: float  # share of line demand
    price_range: tuple[float, float]
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    brands: tuple[str, ...]
    fashion: bool = False
    try_on: float = 0.0  # probability a picked-up item visits the fitting room
    bulk: bool = False  # bought several at a time (quantity above 1 is common)

    @property
    def shelf_zone(self) -> str:
        return f"shelf_{self.name}"


FASHION_BRANDS = ("Maison Lumière", "Northwind", "Atelier Nord", "Blue Harbour", "Kestrel & Co")
# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category("womenswear", "WOM", share=0.20, demand=0.18, price_range=(19, 149),
             nouns=("Dress", "Blouse", "Skirt", "Jumper", "Cardigan", "Jeans", "Trousers",
                    "Blazer", "T-Shirt", "Coat"),
             adjectives=ADJECTIVES, brands=FASHION_BRANDS, fashion=True, try_on=0.6),
    Category("menswear", "MEN", share=0.17, demand=0.14, price_range=(15, 179),
             nouns=("Shirt", "Chinos", "Jeans", "Jumper", "Polo", "Blazer", "Jacket", "T-Shirt",
                    "Hoodie", "Coat"),
             adjectives=ADJECTIVES, brands=FASHION_BRANDS, fashion=True, try_on=0.5),
    Category("shoes", "SHO", share=0.10, demand=0.07, price_range=(29, 189),
             nouns=("Sneakers", "Loafers", "Boots", "Sandals", "Trainers", "Brogues"),
             adjectives=("Leather", "Suede", "Waterproof", "Classic", "Lightweight", "Vintage"),
             brands=FASHION_BRANDS, fashion=True, try_on=0.0),
    Category("accessories", "ACC", share=0.10, demand=0.11, price_range=(5, 89),
             nouns=("Belt", "Scarf", "Tie", "Socks", "Cap", "Wallet", "Tote Bag", "Gloves"),
             adjectives=("Leather", "Woven", "Silk", "Wool", "Recycled", "Classic"),
             brands=FASHION_BRANDS, fashion=True, try_on=0.1),
    Category("home", "HOM", share=0.15, demand=0.14, price_range=(4, 129),
             nouns=("Mug", "Candle", "Cushion", "Throw", "Vase", "Towel", "Frame", "Bowl"),
             adjectives=("Stoneware", "Handmade", "Scented", "Woven", "Ceramic", "Cotton",
                         "Rustic"),
             brands=("Hearth", "Casa Verde", "Linden Home")),
    Category("beauty", "BEA", share=0.12, demand=0.14, price_range=(3, 79),
             nouns=("Shampoo", "Conditioner", "Hand Cream", "Lip Balm", "Serum", "Soap",
                    "Body Lotion", "Perfume"),
             adjectives=("Rose", "Argan", "Citrus", "Lavender", "Sensitive", "Hydrating"),
             brands=("Pure Bloom", "Aqua Botanica", "Velvet Rose"), bulk=True),
    Category("grocery", "GRO", share=0.13, demand=0.19, price_range=(1.5, 24),
             nouns=("Coffee Beans", "Tea", "Chocolate", "Biscuits", "Olive Oil", "Jam", "Granola",
                    "Honey"),
             adjectives=("Organic", "Fair Trade", "Dark", "Roasted", "Wildflower", "Artisan"),
             brands=("Roast & Co", "Green Valley", "La Petite Épicerie"), bulk=True),
    Category("electronics", "ELE", share=0.03, demand=0.03, price_range=(9, 249),
             nouns=("Earbuds", "Charger", "Speaker", "Power Bank", "Cable"),
             adjectives=("Wireless", "Fast", "Compact", "Portable", "USB-C"),
             brands=("Voltix", "Sonora")),
)
# fmt: on
CATEGORY_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}

# (antecedent category, noun, consequent category, noun, P(consequent added | antecedent bought))
PLANTED_PAIRS: tuple[tuple[str, str, str, str, float], ...] = (
    ("womenswear", "Dress", "accessories", "Belt", 0.35),
    ("menswear", "Shirt", "accessories", "Tie", 0.30),
    ("shoes", "Sneakers", "accessories", "Socks", 0.40),
    ("grocery", "Coffee Beans", "home", "Mug", 0.25),
    ("beauty", "Shampoo", "beauty", "Conditioner", 0.45),
)


@dataclass(frozen=True)
class Launch:
    """A product announced in the catalogue update that goes on sale later."""

    category: str
    brand: str
    name: str
    unit_price: float
    description: str


# Non-fashion on purpose: RFID tags are written for the whole period at once, and a tag must not
# name a product that the first catalogue file does not know yet.
LAUNCHES: tuple[Launch, ...] = (
    Launch("home", "Hearth", "Stoneware Teapot", 34.99,
           "Handmade stoneware teapot by Hearth, new this season."),
    Launch("beauty", "Pure Bloom", "Rose Face Mist", 14.5,
           "Hydrating rose face mist by Pure Bloom, new this season."),
    Launch("grocery", "Roast & Co", "Single Origin Espresso Beans", 12.99,
           "Single origin espresso beans by Roast & Co, new this season."),
    Launch("home", "Linden Home", "Woven Linen Throw", 59.0,
           "Woven linen throw by Linden Home, new this season."),
)  # fmt: skip
LAUNCH_SHARE_OF_DAYS = 0.8  # launches go on sale at this share of the simulated days


@dataclass(frozen=True)
class Pair:
    """A planted pair: when `a` is in a basket, `b` is added with `probability`."""

    a: int
    b: int
    probability: float


@dataclass
class Catalogue:
    """Products as arrays for simulation, plus the files that describe them."""

    frame: pl.DataFrame  # products.csv
    update_frame: pl.DataFrame  # products_update_<date>.csv: price changes and new products
    skus: pl.Series
    names: list[str]
    category: np.ndarray  # category index per product
    price: np.ndarray  # price before the update day
    price_after: np.ndarray  # price from the update day on
    update_day: int
    popularity: np.ndarray  # base share of line demand
    pairs: list[Pair]
    brand: np.ndarray  # brand name per product (products.csv, then launches)
    announced: list[str]  # SKUs in the update that are never sold
    launch_day: int  # first day index the launched products sell
    # Launched products follow the products.csv products in the "all_" arrays (sale indices).
    all_skus: pl.Series
    all_category: np.ndarray

    @property
    def fashion(self) -> np.ndarray:
        return np.array([CATEGORIES[c].fashion for c in self.category])

    @property
    def n_all(self) -> int:
        """Products that can appear on a receipt: products.csv plus the launches."""
        return self.all_category.size

    @property
    def launched(self) -> np.ndarray:
        """Sale indices of the launched products."""
        return np.arange(self.category.size, self.n_all)

    def price_on(self, day: np.ndarray, product: np.ndarray) -> np.ndarray:
        """Shelf price of each (day index, sale index): the update's price from its day on."""
        launch_price = np.asarray([x.unit_price for x in LAUNCHES], dtype=np.float64)
        before = np.concatenate([self.price, launch_price])
        after = np.concatenate([self.price_after, launch_price])
        return np.where(day >= self.update_day, after[product], before[product])

    def weights(self, price_tilt: float) -> np.ndarray:
        """Line demand tilted towards dear (tilt > 0) or cheap (tilt < 0) products."""
        w = self.popularity * (self.price / np.median(self.price)) ** price_tilt
        return w / w.sum()


def shelf_price(raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round prices to shop endings (.99, .50, .00)."""
    ending = rng.choice(np.array([0.99, 0.5, 0.0]), size=raw.size, p=[0.6, 0.25, 0.15])
    return np.maximum(np.floor(raw) + ending, 0.5).round(2)


def build_catalogue(n_products: int, days: int, rng: np.random.Generator) -> Catalogue:
    """About `n_products` products across the categories; pair items are placed first."""
    counts = [max(len(c.nouns) // 2, round(c.share * n_products)) for c in CATEGORIES]
    rows: dict[str, list] = {
        k: [] for k in ("sku", "name", "category", "brand", "description", "colour")
    }
    cat_idx: list[int] = []
    nouns: list[str] = []
    raw_price: list[float] = []
    for ci, (cat, count) in enumerate(zip(CATEGORIES, counts, strict=True)):
        lo, hi = cat.price_range
        for j in range(count):
            noun = cat.nouns[j % len(cat.nouns)]
            adj = cat.adjectives[int(rng.integers(len(cat.adjectives)))]
            brand = cat.brands[int(rng.integers(len(cat.brands)))]
            colour = COLOURS[int(rng.integers(len(COLOURS)))] if cat.fashion else None
            feature = FEATURES[int(rng.integers(len(FEATURES)))]
            rows["sku"].append(f"{cat.code}-{1000 + j:04d}")
            rows["name"].append(f"{adj} {noun}, {colour}" if colour else f"{adj} {noun}")
            rows["category"].append(cat.name)
            rows["brand"].append(brand)
            rows["description"].append(f"{adj} {noun.lower()} by {brand}, {feature}.")
            rows["colour"].append(colour)
            cat_idx.append(ci)
            nouns.append(noun)
            raw_price.append(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
    category = np.array(cat_idx)
    n = category.size
    price = shelf_price(np.array(raw_price), rng)

    # Zipf-like demand within each category, scaled to the category's demand share.
    popularity = np.zeros(n)
    for ci, cat in enumerate(CATEGORIES):
        members = np.flatnonzero(category == ci)
        ranks = rng.permutation(members.size)
        w = 1.0 / (ranks + 3.0) ** 0.8
        popularity[members] = cat.demand * w / w.sum()

    pairs = []
    for cat_a, noun_a, cat_b, noun_b, p in PLANTED_PAIRS:
        a = first_product(category, nouns, CATEGORY_INDEX[cat_a], noun_a)
        b = first_product(category, nouns, CATEGORY_INDEX[cat_b], noun_b)
        members = np.flatnonzero(category == CATEGORY_INDEX[cat_a])
        popularity[a] = popularity[members].max() * 1.2  # a visible antecedent
        pairs.append(Pair(a, b, p))
    popularity /= popularity.sum()

    frame = pl.DataFrame(
        {
            **{k: v for k, v in rows.items() if k != "colour"},
            "unit_price": price,
            "colour": rows["colour"],
        }
    )
    frame = frame.select("sku", "name", "category", "brand", "unit_price", "description", "colour")

    # A later delivery: ten price changes and three products announced but not yet on sale.
    update_day = max(1, int(days * 0.55))
    pair_items = {p.a for p in pairs} | {p.b for p in pairs}
    candidates = np.array([i for i in range(n) if i not in pair_items])
    changed = np.sort(rng.choice(candidates, size=min(10, max(1, n // 10)), replace=False))
    price_after = price.copy()
    price_after[changed] = shelf_price(price[changed] * rng.uniform(0.85, 1.15, changed.size), rng)
    launch_rows = launch_frame(counts)
    new_rows = pl.DataFrame(
        {
            "sku": [f"{CATEGORIES[0].code}-{1000 + counts[0] + k:04d}" for k in range(3)],
            "name": [
                "Recycled Trench Coat, Sand",
                "Merino Wrap Dress, Navy",
                "Linen Jumpsuit, Ivory",
            ],
            "category": ["womenswear"] * 3,
            "brand": ["Atelier Nord", "Maison Lumière", "Northwind"],
            "unit_price": [189.0, 129.0, 99.5],
            "description": [
                "Recycled trench coat by Atelier Nord, new this season.",
                "Merino wrap dress by Maison Lumière, coming soon.",
                'Linen jumpsuit by Northwind, part of our "Essentials" range.',
            ],
            "colour": ["Sand", "Navy", "Ivory"],
        }
    )
    update_frame = pl.concat(
        [
            frame[changed.tolist()].with_columns(pl.Series("unit_price", price_after[changed])),
            launch_rows,
            new_rows,
        ]
    )
    return Catalogue(
        frame=frame,
        update_frame=update_frame,
        skus=frame["sku"],
        names=rows["name"],
        category=category,
        price=price,
        price_after=price_after,
        update_day=update_day,
        popularity=popularity,
        pairs=pairs,
        brand=np.array(rows["brand"] + [x.brand for x in LAUNCHES], dtype=object),
        announced=new_rows["sku"].to_list(),
        launch_day=max(update_day + 1, int(days * LAUNCH_SHARE_OF_DAYS)),
        all_skus=pl.concat([frame["sku"], launch_rows["sku"]]),
        all_category=np.concatenate(
            [category, [CATEGORY_INDEX[x.category] for x in LAUNCHES]]
        ).astype(np.int64),
    )


def launch_frame(counts: list[int]) -> pl.DataFrame:
    """The launched products as update-file rows; SKUs continue each category's numbering."""
    taken: dict[str, int] = {}
    skus = []
    for x in LAUNCHES:
        ci = CATEGORY_INDEX[x.category]
        k = taken.get(x.category, 0)
        taken[x.category] = k + 1
        skus.append(f"{CATEGORIES[ci].code}-{1000 + counts[ci] + k:04d}")
    return pl.DataFrame(
        {
            "sku": skus,
            "name": [x.name for x in LAUNCHES],
            "category": [x.category for x in LAUNCHES],
            "brand": [x.brand for x in LAUNCHES],
            "unit_price": [x.unit_price for x in LAUNCHES],
            "description": [x.description for x in LAUNCHES],
            "colour": pl.Series([None] * len(LAUNCHES), dtype=pl.Utf8),
        }
    )


def first_product(category: np.ndarray, nouns: list[str], ci: int, noun: str) -> int:
    """The first product of a category with the given noun (or its first product)."""
    members = np.flatnonzero(category == ci)
    for i in members:
        if nouns[i] == noun:
            return int(i)
    return int(members[0])
