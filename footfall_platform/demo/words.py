"""Small built-in word lists for fake names, places and products.

Built in (rather than Faker) so the generator has no extra dependency and a seed gives the same
bytes on every machine. A few entries carry accents or apostrophes on purpose: real member and
product data does, and the platform must keep UTF-8 intact and quote CSV fields correctly.
"""

from __future__ import annotations

# fmt: off
FIRST_NAMES: tuple[str, ...] = (
    "Emma", "Louis", "Zoé", "Léa", "Hugo", "Chloé", "Noah", "Olivia", "Oliver", "Amelia",
    "Jack", "Isla", "Liam", "Ava", "Ethan", "Mia", "Lucas", "Sofia", "Mateo", "Jürgen",
    "Anna", "Lena", "Paul", "Marie", "Camille", "Inès", "Théo", "Grace", "Harry", "Sophie",
    "James", "Emily", "Noé", "Manon", "Raphaël", "Clara", "Lucía", "Martín", "Björn", "Maya",
)

LAST_NAMES: tuple[str, ...] = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Lefèvre", "Smith",
    "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Müller", "Schmidt",
    "Schneider", "García", "Fernández", "López", "Martínez", "Rossi", "O'Brien", "Nguyen", "Kim",
    "Patel", "Murphy", "Walker", "Lee", "Clark", "Lewis", "Roux", "Fontaine", "Chevalier", "Bell",
    "Scott", "Young", "Hall",
)

# Names used where a line must contain a character outside ASCII (the latin-1 bad input).
ACCENTED_FIRST: tuple[str, ...] = ("Zoé", "Léa", "Chloé", "Inès", "Théo", "Raphaël", "Björn")
ACCENTED_LAST: tuple[str, ...] = ("Lefèvre", "Müller", "García", "Fernández", "Martínez")

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")

# Gender as member systems really send it: several spellings per code, plus blanks.
GENDER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "F": ("F", "female", "Female", "f", "w", "woman"),
    "M": ("M", "male", "Male", "m", "MAN"),
    "X": ("X", "other", "non-binary", "d"),
    "U": ("", "unknown"),
}
GENDER_SHARES: dict[str, float] = {"F": 0.48, "M": 0.43, "X": 0.03, "U": 0.06}

ADJECTIVES: tuple[str, ...] = (
    "Classic", "Linen", "Organic Cotton", "Merino", "Recycled", "Slim", "Relaxed", "Everyday",
    "Premium", "Soft", "Vintage", "Striped", "Waterproof", "Lightweight", "Cosy", "Tailored",
)

COLOURS: tuple[str, ...] = (
    "Navy", "Black", "Ivory", "Sage", "Rust", "Grey", "Camel", "Blue", "Red", "Olive", "Sand",
)

FEATURES: tuple[str, ...] = (
    "machine washable", "made in Portugal", "a customer favourite",
    'part of our "Essentials" range', "responsibly sourced", "gift boxed",
    "easy care, quick dry", "new this season", "designed in Paris", "limited edition",
)

PROMOTION_NAMES: dict[int, str] = {
    1: "Winter Sale", 2: "Winter Sale", 3: "Spring Days", 4: "Spring Days", 5: "Spring Sale",
    6: "Summer Sale", 7: "Summer Sale", 8: "Back to School", 9: "Back to School",
    10: "Autumn Days", 11: "Mid-Season Sale", 12: "Festive Deals",
}
# fmt: on
