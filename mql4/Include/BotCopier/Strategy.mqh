//+------------------------------------------------------------------+
//| Strategy.mqh - the generated strategy EA's trading rules.        |
//|                                                                  |
//| codegen/strategy.py holds the same rules in Python; the          |
//| backtester and decision replay use that one. The arithmetic      |
//| rules here are one-line functions (a single return) so tests can |
//| evaluate their MQL4 text with codegen/expression.py and hold it  |
//| to the Python on a golden grid; BcDecide and BcOrdersFor are     |
//| mirrored line for line in codegen/strategy_mirror.py.            |
//|                                                                  |
//| Needs ModelFile.mqh (BcIndexOf) included first.                  |
//+------------------------------------------------------------------+
#property strict

//--- 0 at the threshold, 1 at probability 1, linear between.
double BcLotStrength(double probability, double threshold)
{
   return threshold >= 1.0 ? 1.0 : MathMin(MathMax((probability - threshold) / (1.0 - threshold), 0.0), 1.0);
}

//--- Lots of an entry: scaled by strength and risk weight, down to the step, within limits.
double BcLotsFor(double probability, double threshold, double minLots, double maxLots, double lotStep, double riskWeight)
{
   return NormalizeDouble(MathMin(MathMax(MathFloor((minLots + (maxLots - minLots) * BcLotStrength(probability, threshold)) * riskWeight / lotStep + 1e-9) * lotStep, minLots), maxLots), 8);
}

//--- What closing would fetch now: the bid for a long (side 1), the ask for a short (-1).
double BcExitPrice(int side, double bid, double ask)
{
   return side > 0 ? bid : ask;
}

double BcProfitPips(int side, double openPrice, double bid, double ask, double pipSize)
{
   return side * (BcExitPrice(side, bid, ask) - openPrice) / pipSize;
}

//--- The stop break-even and trailing ask for (0: neither applies yet).
double BcCandidateStop(int side, double openPrice, double bid, double ask, double breakEvenPips, double trailingPips, double pipSize)
{
   return (trailingPips > 0.0 && BcProfitPips(side, openPrice, bid, ask, pipSize) >= trailingPips)
          ? ((breakEvenPips > 0.0 && BcProfitPips(side, openPrice, bid, ask, pipSize) >= breakEvenPips)
             ? (side > 0 ? MathMax(openPrice, BcExitPrice(side, bid, ask) - trailingPips * pipSize)
                         : MathMin(openPrice, BcExitPrice(side, bid, ask) + trailingPips * pipSize))
             : BcExitPrice(side, bid, ask) - side * trailingPips * pipSize)
          : ((breakEvenPips > 0.0 && BcProfitPips(side, openPrice, bid, ask, pipSize) >= breakEvenPips) ? openPrice : 0.0);
}

//--- The candidate when it moves the stop towards profit, else 0 (leave the stop alone).
double BcImprovedStop(int side, double candidate, double stop)
{
   return (candidate != 0.0 && (stop == 0.0 || (side > 0 ? candidate > stop : candidate < stop))) ? candidate : 0.0;
}

double BcManagedStop(int side, double openPrice, double stop, double bid, double ask, double breakEvenPips, double trailingPips, double pipSize)
{
   return BcImprovedStop(side, NormalizeDouble(BcCandidateStop(side, openPrice, bid, ask, breakEvenPips, trailingPips, pipSize), 8), stop);
}

//--- The break-even or trailing pips in use: the trader's input, or when it is 0 the model's
//--- learned distance (price units, 0: none) in pips.
double BcManagedPips(double inputPips, double learnedDistance, double pipSize)
{
   return inputPips > 0.0 ? inputPips : (learnedDistance > 0.0 ? learnedDistance / pipSize : 0.0);
}

//--- A stop level at distance from entry (0 distance: no stop).
double BcStopLevel(int side, double entry, double distance, bool isStopLoss)
{
   return distance > 0.0 ? NormalizeDouble(entry + (isStopLoss ? -side : side) * distance, 8) : 0.0;
}

//--- The bar's decision from (ensemble) probabilities: the most probable action at or above
//--- its threshold, else none; probability and threshold of the deciding class (for none,
//--- of the most probable action), and whether it lies within margin of its threshold.
void BcDecide(const double &proba[], const string &classes[], const double &thresholds[], double margin,
              string &action, double &probability, double &threshold, bool &uncertain)
{
   int best = -1, top = -1;
   double bestP = -1.0, topP = -1.0;
   for(int k = 1; k < ArraySize(classes); k++) {
      if(proba[k] > topP) {
         top = k;
         topP = proba[k];
      }
      if(proba[k] >= thresholds[k] && proba[k] > bestP) {
         best = k;
         bestP = proba[k];
      }
   }
   int decided = best >= 0 ? best : top;
   action = best >= 0 ? classes[best] : "none";
   if(decided < 0) {
      probability = 0.0;
      threshold = 1.0;
      uncertain = false;
      return;
   }
   probability = proba[decided];
   threshold = thresholds[decided];
   uncertain = MathAbs(probability - threshold) <= margin;
}

//--- The orders for action when holding position (1 long, -1 short, 0 flat) in tickets
//--- orders, at most maxTickets on one side: "close", "open_buy", "open_sell"; returns how many.
int BcOrdersFor(const string action, int position, int tickets, int maxTickets, string &orders[])
{
   ArrayResize(orders, 0);
   if(action == "close") {
      if(position != 0)
         BcPushString(orders, "close");
      return ArraySize(orders);
   }
   if(action != "buy" && action != "sell")
      return 0;
   int side = action == "buy" ? 1 : -1;
   if(position == side) {
      if(tickets < maxTickets)
         BcPushString(orders, "open_" + action);
      return ArraySize(orders);
   }
   if(position != 0)
      BcPushString(orders, "close");
   BcPushString(orders, "open_" + action);
   return ArraySize(orders);
}
