"""Month names in the languages of the pages readers clip: dates are read by them, and a German ordinal before
one ("am 28. Februar") ends no sentence. Kept apart from dates.py, whose patterns take tens of ms to compile, so
that the summariser can use them without that cost."""

from __future__ import annotations

# Month names as pages in the languages of the evaluation sets write them, full and cut short ("Dezember",
# "déc.", "marzo", "Okt."), each with its number. dateutil reads English only.
MONTH_NAMES: dict[str, int] = {}
for _number, _names in enumerate((
        "january jan januar jänner janvier janv enero ene gennaio gen janeiro januari",
        "february feb februar feber février févr fevrier febrero febbraio fevereiro fev februari",
        "march mar märz maerz mrz mars marzo março marco maart mrt",
        "april apr avril avr abril abr aprile",
        "may mai mayo maggio mag maio mei",
        "june jun juni juin junio giugno giu junho",
        "july jul juli juillet juil julio luglio lug julho",
        "august aug août aout agosto ago augustus",
        "september sep sept septembre septiembre set settembre setembro",
        "october oct oktober okt octobre octubre ottobre ott outubro out",
        "november nov novembre noviembre novembro",
        "december dec dezember dez décembre decembre diciembre dic dicembre dezembro",
), start=1):
    MONTH_NAMES.update(dict.fromkeys(_names.split(), _number))
# Russian writes a date's month in the genitive ("15 августа 2016").
for _number, _name in enumerate("января февраля марта апреля мая июня июля августа сентября октября ноября декабря"
                                .split(), start=1):
    MONTH_NAMES[_name] = _number
