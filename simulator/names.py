"""Word lists that make simulated titles, teams, tags and categories look like the real catalogues.

Kept apart from the models so the lifecycle code stays readable.
"""

from __future__ import annotations

import re

PEOPLE = ["Alice Moreno", "Bruno Keller", "Chen Wei", "Dara Okafor", "Elena Petrova", "Farid Haddad",
          "Grace Lindqvist", "Hiro Tanaka", "Ines Duarte", "Jonas Berg", "Kofi Mensah", "Lena Novak",
          "Marco Rossi", "Nadia Karimi", "Oscar Silva", "Priya Nair", "Quentin Dubois", "Rosa Alvarez",
          "Samir Patel", "Tara Walsh", "Umar Sheikh", "Vera Jansen", "Wang Fang", "Yusuf Demir"]
TEAMS = ["Boston Harbor", "Denver Peaks", "Miami Tides", "Austin Comets", "Seattle Rain",
         "Chicago Winds", "Phoenix Suns FC", "Toronto Maples", "Dallas Riders", "Portland Pines",
         "Atlanta Flames", "Detroit Motors", "Memphis Blues", "Oklahoma Storm", "Orlando Magic City",
         "Utah Summit"]
SUBJECTS = ["the Fed cut rates", "Bitcoin hit $150k", "a new Starship launch happen",
            "the Senate pass the budget bill", "ETH flip $5,000", "the ceasefire hold",
            "unemployment exceed 4.5%", "the heatwave break records", "the merger close",
            "a government shutdown happen", "gold exceed $3,500", "the strike end"]
CONTESTS = ["2026 Governor race", "Best Picture award", "Mayoral primary", "Fed chair nomination",
            "Golden Boot", "Chess championship", "Party leadership vote", "Eurovision final"]
ASSETS = ["Bitcoin", "Ethereum", "Solana", "XRP"]

# (id, label, slug) — ids as observed on Gamma where the doc lists them.
TAGS = {
    "sports": [("1", "Sports", "sports"), ("745", "NBA", "nba")],
    "politics": [("2", "Politics", "politics"), ("366", "world affairs", "world-affairs")],
    "crypto": [("21", "Crypto", "crypto"), ("101999", "Crypto Prices", "crypto-prices"),
               ("102000", "Recurring", "recurring")],
    "economy": [("100328", "Economy", "economy"), ("100196", "Fed Rates", "fed-rates"),
                ("101800", "Economic Policy", "economic-policy")],
    "world": [("100265", "Geopolitics", "geopolitics"), ("101970", "World", "world"),
              ("102458", "Earn 4%", "earn-4")],
    "weather": [("84", "Weather", "weather")],
}
TAG_GROUPS = list(TAGS)

KALSHI_CATEGORIES = ["Sports", "Politics", "Economics", "Financials", "Crypto", "Climate and Weather",
                     "Entertainment", "Science and Technology", "World", "Companies", "Elections"]
SERIES_WORDS = ["FED", "BTCD", "CPI", "NFLGAME", "NBAGAME", "HIGHNY", "SENATE", "GOVPARTY", "ETHD",
                "GDP", "OSCARS", "STARSHIP", "TSLADEL", "RAINSEA", "UNRATE", "MAYOR", "ATPMATCH"]
MVE_SERIES = ["KXMVECROSSCATEGORY", "KXMVESPORTSMULTIGAMEEXTENDED"]
FREQUENCIES = ["custom", "daily", "weekly", "one_off", "hourly", "monthly"]

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-")


def initials(name: str) -> str:
    return "".join(p[0] for p in name.split()).upper() + name.split()[-1][:2].upper()
