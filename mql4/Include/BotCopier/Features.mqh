//+------------------------------------------------------------------+
//| Features.mqh - helpers of the feature expressions.               |
//|                                                                  |
//| Each feature a clone uses is declared once, in                   |
//| trainers/features.py, with its Python computation and the MQL4   |
//| expression the generated strategy EA evaluates when a new bar    |
//| opens (shift 1 = the bar just closed). The expressions call MT4  |
//| built-ins and the helpers below, nothing else.                   |
//+------------------------------------------------------------------+
#property strict

#include "Clock.mqh"

//--- numerator / denominator, or the fallback where the denominator is 0 (a flat band).
double BcSafeDiv(double numerator, double denominator, double fallback)
{
   if(denominator == 0.0) return fallback;
   return numerator / denominator;
}

//--- What the EA holds under its magic number on this chart's symbol: 1 long, -1 short, 0
//--- flat. Pending orders do not count: the clone learned from filled positions.
int BcPositionSide(int magic)
{
   for(int i = OrdersTotal() - 1; i >= 0; i--) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES)) continue;
      if(OrderMagicNumber() != magic || OrderSymbol() != Symbol()) continue;
      if(OrderType() == OP_BUY) return 1;
      if(OrderType() == OP_SELL) return -1;
   }
   return 0;
}

//--- 1 when a spread (fast average minus slow) turned positive between two bars, -1 when it
//--- turned negative, else 0: the bar of a moving-average cross.
int BcCross(double now, double before)
{
   if(before <= 0.0 && now > 0.0) return 1;
   if(before >= 0.0 && now < 0.0) return -1;
   return 0;
}

//--- Selects the EA's oldest open market order (its magic, this symbol) and returns true, or
//--- false when flat. The position's age and profit are measured from it, as the trainer
//--- measures them from the bot's oldest open order.
bool BcSelectOldestOrder(int magic)
{
   int oldest = -1;
   datetime opened = 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES)) continue;
      if(OrderMagicNumber() != magic || OrderSymbol() != Symbol()) continue;
      if(OrderType() != OP_BUY && OrderType() != OP_SELL) continue;
      if(oldest < 0 || OrderOpenTime() < opened) {
         oldest = OrderTicket();
         opened = OrderOpenTime();
      }
   }
   return oldest >= 0 && OrderSelect(oldest, SELECT_BY_TICKET);
}

//--- Bars since the oldest open order opened, counted back from the bar opening now (0 flat).
int BcPositionAgeBars(int magic)
{
   if(!BcSelectOldestOrder(magic)) return 0;
   return iBarShift(NULL, 0, OrderOpenTime(), false);
}

//--- The oldest open order's gain since it opened, on its side, in units of atr (0 flat).
double BcPositionProfitAtr(int magic, double atr)
{
   if(!BcSelectOldestOrder(magic)) return 0.0;
   double side = OrderType() == OP_BUY ? 1.0 : -1.0;
   return BcSafeDiv(side * (Close[1] - OrderOpenPrice()), atr, 0.0);
}

//--- How many market orders the EA has open on this symbol.
int BcOpenTickets(int magic)
{
   int count = 0;
   for(int i = OrdersTotal() - 1; i >= 0; i--) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES)) continue;
      if(OrderMagicNumber() != magic || OrderSymbol() != Symbol()) continue;
      if(OrderType() == OP_BUY || OrderType() == OP_SELL) count++;
   }
   return count;
}

//--- The latest open (opens = true) or close time of the EA's market orders on this symbol,
//--- open ones and those in the account history (the terminal's History tab must show them
//--- all: "All history"); 0 when there is none.
datetime BcLatestOrderTime(int magic, bool opens)
{
   datetime latest = 0;
   for(int pool = 0; pool < 2; pool++) {
      if(pool == 0 && !opens) continue;  // an open order has not closed yet
      int total = pool == 0 ? OrdersTotal() : OrdersHistoryTotal();
      for(int i = total - 1; i >= 0; i--) {
         if(!OrderSelect(i, SELECT_BY_POS, pool == 0 ? MODE_TRADES : MODE_HISTORY)) continue;
         if(OrderMagicNumber() != magic || OrderSymbol() != Symbol()) continue;
         if(OrderType() != OP_BUY && OrderType() != OP_SELL) continue;
         datetime t = opens ? OrderOpenTime() : OrderCloseTime();
         if(t > latest) latest = t;
      }
   }
   return latest;
}

//--- Bars back to the latest entry (or exit), at most cap; cap when there was none.
int BcBarsSinceEntry(int magic, int cap)
{
   datetime t = BcLatestOrderTime(magic, true);
   if(t == 0) return cap;
   return MathMin(iBarShift(NULL, 0, t, false), cap);
}

int BcBarsSinceExit(int magic, int cap)
{
   datetime t = BcLatestOrderTime(magic, false);
   if(t == 0) return cap;
   return MathMin(iBarShift(NULL, 0, t, false), cap);
}
