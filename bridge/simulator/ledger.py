"""A paper trading account: orders, tickets, fills and profit, the way MT4 keeps them.

Partial closes follow MT4: the closed part keeps the ticket and the remainder is reopened
under a new ticket whose ``parent_ticket`` links back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, Literal

from botcopier.bridge.simulator.exceptions import LedgerError

Side = Literal["BUY", "SELL"]
CONTRACT_SIZE = 100_000
COMMISSION_PER_LOT = 7.0


@dataclass
class Order:
    """An open market order on the paper account."""

    ticket: int
    magic: int
    symbol: str
    order_type: Side
    lots: float
    open_price: float
    open_time_ms: int
    sl: float = 0.0
    tp: float = 0.0
    comment: str = ""
    parent_ticket: int | None = None

    @property
    def direction(self) -> int:
        """+1 for a buy, -1 for a sell: the sign a price rise has on its profit."""
        return 1 if self.order_type == "BUY" else -1


class PaperAccount:
    """The simulated MT4 account: open orders, tickets and balance, shared by several bots.

    Tickets are account-wide and increase by one per new order, starting at a number derived
    from ``seed`` (or at ``first_ticket``). Every method returns the events it caused.
    """

    def __init__(self, seed: int = 0, *, first_ticket: int | None = None) -> None:
        if first_ticket is None:
            first_ticket = 10_000_000 + random.Random(seed).randrange(1_000_000)
        self._next_ticket = first_ticket
        self._orders: dict[int, Order] = {}
        self.balance = 0.0

    def orders(self, magic: int, symbol: str) -> list[Order]:
        """The open orders of one bot on one symbol, oldest first."""
        return [o for o in self._orders.values() if o.magic == magic and o.symbol == symbol]

    def open(
        self,
        *,
        magic: int,
        symbol: str,
        order_type: Side,
        lots: float,
        price: float,
        time_ms: int,
        sl: float = 0.0,
        tp: float = 0.0,
        comment: str = "",
        spread_points: int = 0,
    ) -> dict[str, Any]:
        """Open a market order at ``price``; returns its OPEN event."""
        if order_type not in ("BUY", "SELL"):
            raise LedgerError(f"only market orders are simulated, not {order_type!r}")
        ticket = self._take_ticket()
        order = Order(
            ticket, magic, symbol, order_type, _lots(lots), price, time_ms, sl, tp, comment
        )
        self._orders[order.ticket] = order
        return _event(order, "OPEN", order.lots, order.lots, spread_points=spread_points)

    def modify(
        self, ticket: int, *, sl: float, tp: float, spread_points: int = 0
    ) -> dict[str, Any]:
        """Move an order's stop loss and take profit (0 means none); returns the MODIFY event."""
        order = self._order(ticket)
        order.sl, order.tp = sl, tp
        return _event(order, "MODIFY", order.lots, order.lots, spread_points=spread_points)

    def close(
        self,
        ticket: int,
        *,
        price: float,
        time_ms: int,
        lots: float | None = None,
        spread_points: int = 0,
    ) -> list[dict[str, Any]]:
        """Close ``lots`` of an order (all when None).

        As in MT4, a partial close ends the ticket and leaves the rest open under a new
        ticket whose comment is ``from #<old ticket>``: the events are that CLOSE, then the
        remainder's OPEN (``parent_ticket`` = the old ticket, same open price and time).
        """
        order = self._order(ticket)
        closed = order.lots if lots is None else _lots(lots)
        remaining = round(order.lots - closed, 2)
        if remaining < 0:
            raise LedgerError(f"cannot close {closed} lots of #{ticket}: it has {order.lots}")
        profit = round((price - order.open_price) * order.direction * closed * CONTRACT_SIZE, 2)
        commission = round(-COMMISSION_PER_LOT * closed, 2)
        self.balance = round(self.balance + profit + commission, 2)
        del self._orders[ticket]
        events = [
            _event(
                order,
                "CLOSE",
                closed,
                remaining,
                close_price=price,
                close_time_ms=time_ms,
                profit=profit,
                commission=commission,
                spread_points=spread_points,
            )
        ]
        if remaining > 0:
            rest = replace(
                order,
                ticket=self._take_ticket(),
                lots=remaining,
                comment=f"from #{ticket}",
                parent_ticket=ticket,
            )
            self._orders[rest.ticket] = rest
            events.append(_event(rest, "OPEN", remaining, remaining, spread_points=spread_points))
        return events

    def _take_ticket(self) -> int:
        self._next_ticket += 1
        return self._next_ticket - 1

    def _order(self, ticket: int) -> Order:
        try:
            return self._orders[ticket]
        except KeyError:
            raise LedgerError(f"no open order #{ticket}") from None


def _lots(lots: float) -> float:
    rounded = round(lots, 2)
    if rounded < 0.01:
        raise LedgerError(f"{lots} lots is below the 0.01 lot step")
    return rounded


def _event(
    order: Order,
    action: str,
    lots: float,
    remaining_lots: float,
    *,
    close_price: float | None = None,
    close_time_ms: int | None = None,
    profit: float = 0.0,
    commission: float = 0.0,
    spread_points: int = 0,
) -> dict[str, Any]:
    return {
        "magic": order.magic,
        "ticket": order.ticket,
        "parent_ticket": order.parent_ticket,
        "symbol": order.symbol,
        "action": action,
        "order_type": order.order_type,
        "lots": lots,
        "open_price": order.open_price,
        "open_time_ms": order.open_time_ms,
        "close_price": close_price,
        "close_time_ms": close_time_ms,
        "sl": order.sl,
        "tp": order.tp,
        "profit": profit,
        "swap": 0.0,
        "commission": commission,
        "comment": order.comment,
        "spread_points": spread_points,
        "remaining_lots": remaining_lots,
    }
