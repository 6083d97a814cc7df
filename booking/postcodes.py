"""Postcode districts around the demo area, so "near WS12" works without an external geocoder.

Centroids are approximate (to about a kilometre), which is plenty for "within 3 miles".
"""

from __future__ import annotations

import math
import re

#: Outward code (postcode district) -> approximate centroid (latitude, longitude).
DISTRICTS: dict[str, tuple[float, float]] = {
    # Cannock Chase, Lichfield and the edge of Walsall
    "WS1": (52.585, -1.980),
    "WS2": (52.590, -2.010),
    "WS3": (52.620, -1.990),
    "WS4": (52.605, -1.960),
    "WS5": (52.575, -1.950),
    "WS6": (52.665, -2.020),
    "WS7": (52.680, -1.920),
    "WS8": (52.645, -1.930),
    "WS9": (52.605, -1.920),
    "WS11": (52.690, -2.025),
    "WS12": (52.710, -2.000),
    "WS13": (52.690, -1.840),
    "WS14": (52.670, -1.800),
    "WS15": (52.760, -1.935),
    # Stafford and around
    "ST15": (52.905, -2.150),
    "ST16": (52.815, -2.120),
    "ST17": (52.790, -2.090),
    "ST18": (52.830, -2.050),
    "ST19": (52.700, -2.150),
    "ST20": (52.785, -2.250),
    "ST21": (52.860, -2.250),
    # East Staffordshire and Tamworth
    "DE13": (52.780, -1.720),
    "DE14": (52.800, -1.640),
    "DE15": (52.795, -1.600),
    "B77": (52.620, -1.670),
    "B78": (52.610, -1.710),
    "B79": (52.645, -1.700),
    # North of Wolverhampton
    "WV8": (52.635, -2.190),
    "WV9": (52.630, -2.150),
    "WV10": (52.620, -2.110),
    "WV11": (52.605, -2.070),
    "WV12": (52.595, -2.040),
}

EXAMPLE = "WS11 1DB"
AREA = "Cannock Chase, Stafford, Lichfield, Tamworth or East Staffordshire"

_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_INWARD = re.compile(r"^[0-9][A-Z]{2}$")
EARTH_RADIUS_MILES = 3958.8


class PostcodeError(ValueError):
    """What a resident typed is not a postcode we can use; ``message`` says why, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise(text: str) -> str:
    """Upper case, single space before the inward code: " ws121aa " -> "WS12 1AA", "ws12" -> "WS12"."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if len(compact) >= 5 and _INWARD.match(compact[-3:]) and _OUTWARD.match(compact[:-3]):
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def district_of(text: str) -> str:
    """The postcode district (outward code) of a full or partial postcode in our table.

    Raises ``PostcodeError`` for something that is not a postcode, or a district we do not know.
    """
    postcode = normalise(text)
    if not postcode:
        raise PostcodeError(f"Enter a postcode, like {EXAMPLE}")
    outward = postcode.split(" ", 1)[0]
    if len(postcode) > 8 or not _OUTWARD.match(outward):
        raise PostcodeError(f"Enter a real postcode, like {EXAMPLE}")
    if outward not in DISTRICTS:
        raise PostcodeError(
            f"We do not have {outward} in our list of local postcodes. Enter a postcode in {AREA}, like {EXAMPLE}"
        )
    return outward


def centroid(district: str) -> tuple[float, float]:
    return DISTRICTS[district]


def distance_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two (latitude, longitude) points, in miles."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(h))
