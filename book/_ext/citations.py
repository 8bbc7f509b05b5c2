"""References that read the way the text cites them: the text says "Bulatov et al. (2022)", so the
bibliography labels its entries "Bulatov et al., 2022" too (pybtex's plain style would label them
[BKB22]), and an entry's ``url`` (the arXiv or anthology page) is its link."""

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as Plain
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author", [])
            year = entry.fields.get("year", "")
            if len(people) > 2:
                who = f"{_surname(people[0])} et al."
            else:
                who = " and ".join(_surname(p) for p in people)
            yield f"{who}, {year}"


class AuthorYear(Plain):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYear)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
