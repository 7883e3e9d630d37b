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
