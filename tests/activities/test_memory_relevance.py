"""Recall keeps only lessons of goals about the same subject: words that say how or where
("write", "save", "out/x.json") do not make two goals alike."""

from __future__ import annotations

from durable_agents.activities.memory import RELEVANT, similarity, subject_terms


def test_subject_terms_leave_out_how_and_where() -> None:
    goal = "Read data/sales.csv, total the revenue per region, and write the totals to out/t.json"
    assert subject_terms(goal) == {"sale", "total", "revenue", "region"}


def test_alike_goals_are_recalled_and_goals_sharing_only_how_are_not() -> None:
    total = "Total the revenue per region in data/sales.csv"
    assert similarity(total, "Revenue per region from sales") >= RELEVANT
    assert similarity(total, total) == 1.0
    # measured misleads: shared "write", "out/", "data/", "json" only
    ticket = 'POST the JSON {"title": "printer broken"} to http://127.0.0.1:8000/tickets'
    assert similarity(ticket, "Read data/alpha.json and write it to out/alpha.json") < RELEVANT
    sql = "Count the rows of the PostgreSQL table evals_orders and write it to out/n.json"
    assert similarity(sql, "Count the rows in data/orders.csv, write to out/count.json") < RELEVANT
    # same data, another computation: a lesson would mislead more than help
    average = "Compute the average revenue per product from data/sales.csv"
    assert similarity(total, average) < RELEVANT
