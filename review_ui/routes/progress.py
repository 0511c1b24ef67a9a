"""Progress for the office: units × first-level indicators, how far the rating has got."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select

from evidence.models import Unit, User
from review.ratings import DISAGREEMENT_SPREAD, Cell, progress, system_for_year

from ..security import require_role
from ..web import db, render, user_of
from ..web import default_year
from .scoring import to_int

router = APIRouter()


def progress_table(session: Session, year: int) -> dict:
    """Rows per unit with a cell per first-level indicator, row totals, column totals and a grand total."""
    system = system_for_year(year)
    level1_of = {i.no: i.level1_no for i in system.rated_indicators()}
    # The official order (GB/T 2260 codes), with the 兵团, which has none, last.
    units = sorted(session.exec(select(Unit)), key=lambda u: (not u.gb_code, u.gb_code, u.code))
    cells = progress(session, year, [u.code for u in units], level1_of)
    level1s = [l1 for l1 in system.level1 if l1.no in set(level1_of.values())]
    rows, column_totals, grand = [], {l1.no: Cell() for l1 in level1s}, Cell()
    for unit in units:
        row_total = Cell()
        row_cells = []
        for l1 in level1s:
            cell = cells.get((unit.code, l1.no), Cell())
            row_cells.append((l1, cell))
            row_total.add(cell)
            column_totals[l1.no].add(cell)
        grand.add(row_total)
        rows.append({"unit": unit, "cells": row_cells, "total": row_total})
    return {"rows": rows, "level1s": level1s, "column_totals": column_totals, "grand": grand}


@router.get("/progress")
def progress_page(request: Request, year: str = "", user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no = to_int(year) or default_year(session)
    return render(request, "progress/index.html", year=year_no, threshold=DISAGREEMENT_SPREAD,
                  **progress_table(session, year_no))
