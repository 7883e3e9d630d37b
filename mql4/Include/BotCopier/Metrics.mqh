//+------------------------------------------------------------------+
//| Metrics.mqh - per-magic performance the Observer reports itself. |
//|                                                                  |
//| Same definitions as trade_metrics() in bridge/simulator/ea.py,   |
//| so simulated and real MetricSnapshots mean the same thing: over  |
//| the closes of the last window_days (close time > now - window),  |
//| in close order, of per-trade net profit (profit+swap+commission):|
//| win rate (share > 0), average, count, max drawdown (largest      |
//| peak-to-trough fall of cumulative profit, peak starting at 0)    |
//| and Sharpe (mean / population std; 0 when the std is 0).         |
//| The closes are kept locally (MQL4/Files/botcopier_metrics_<acct> |
//| .csv) and pruned after MetricsDaysToKeep, so the figures do not  |
//| depend on how much history the terminal's History tab shows; on  |
//| start they are also seeded from the account history.             |
//| Only market orders count: a deleted pending order is no trade.   |
//+------------------------------------------------------------------+
#property strict

#include "OrderState.mqh"

#define BC_DAY_MS 86400000

long   g_mxMagic[];
long   g_mxTicket[];
long   g_mxTime[];     // close time, ms UTC
double g_mxNet[];
int    g_mxCount = 0;
string g_mxPath = "";
bool   g_mxDirty = false;

//--- Adds one close (ignored when the ticket is already known), keeping close-time order.
bool MetricsAdd(long magic, long ticket, long timeMs, double net)
{
   for(int i = 0; i < g_mxCount; i++)
      if(g_mxTicket[i] == ticket) return false;
   int pos = g_mxCount;
   ArrayResize(g_mxMagic, g_mxCount + 1, 256);
   ArrayResize(g_mxTicket, g_mxCount + 1, 256);
   ArrayResize(g_mxTime, g_mxCount + 1, 256);
   ArrayResize(g_mxNet, g_mxCount + 1, 256);
   while(pos > 0 && (g_mxTime[pos - 1] > timeMs || (g_mxTime[pos - 1] == timeMs && g_mxTicket[pos - 1] > ticket))) {
      g_mxMagic[pos] = g_mxMagic[pos - 1];
      g_mxTicket[pos] = g_mxTicket[pos - 1];
      g_mxTime[pos] = g_mxTime[pos - 1];
      g_mxNet[pos] = g_mxNet[pos - 1];
      pos--;
   }
   g_mxMagic[pos] = magic;
   g_mxTicket[pos] = ticket;
   g_mxTime[pos] = timeMs;
   g_mxNet[pos] = net;
   g_mxCount++;
   g_mxDirty = true;
   return true;
}

void MetricsPrune(long nowMs, int keepDays)
{
   long from = nowMs - (long)keepDays * BC_DAY_MS;
   int keep = 0;
   for(int i = 0; i < g_mxCount; i++) {
      if(g_mxTime[i] < from) continue;
      g_mxMagic[keep] = g_mxMagic[i];
      g_mxTicket[keep] = g_mxTicket[i];
      g_mxTime[keep] = g_mxTime[i];
      g_mxNet[keep] = g_mxNet[i];
      keep++;
   }
   if(keep != g_mxCount) g_mxDirty = true;
   g_mxCount = keep;
}

//--- Closed market orders of watched magics from the terminal's history.
void MetricsSeedFromHistory(long fromMs)
{
   for(int i = OrdersHistoryTotal() - 1; i >= 0; i--) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_HISTORY)) continue;
      if(OrderType() > OP_SELL || OrderCloseTime() <= 0 || !OrderStateWatches(OrderMagicNumber())) continue;
      long closeMs = BcServerToUtcMs(OrderCloseTime());
      if(closeMs < fromMs) continue;
      MetricsAdd(OrderMagicNumber(), OrderTicket(), closeMs, OrderProfit() + OrderSwap() + OrderCommission());
   }
}

bool MetricsSave()
{
   if(!g_mxDirty) return true;
   string text = "magic,ticket,close_time_ms,net_profit\n";
   for(int i = 0; i < g_mxCount; i++)
      text += IntegerToString(g_mxMagic[i]) + "," + IntegerToString(g_mxTicket[i]) + ","
              + IntegerToString(g_mxTime[i]) + "," + DoubleToString(g_mxNet[i], 8) + "\n";
   bool ok = BcFileWriteText(g_mxPath, text);
   if(ok) g_mxDirty = false;
   return ok;
}

void MetricsInit(string path, long nowMs, int keepDays)
{
   g_mxPath = path;
   g_mxCount = 0;
   string lines[];
   int n = BcFileReadLines(path, lines);
   for(int i = 0; i < n; i++) {
      string f[];
      if(StringSplit(lines[i], ',', f) < 4 || f[0] == "magic") continue;
      MetricsAdd(StringToInteger(f[0]), StringToInteger(f[1]), StringToInteger(f[2]), StringToDouble(f[3]));
   }
   long fromMs = nowMs - (long)keepDays * BC_DAY_MS;
   MetricsSeedFromHistory(fromMs);
   MetricsPrune(nowMs, keepDays);
   MetricsSave();
}

//--- trade_metrics() of the closes of magic with close time in (now - windowDays, now].
void MetricsCompute(long magic, long nowMs, int windowDays, double &winRate, double &avgProfit,
                    int &count, double &maxDrawdown, double &sharpe)
{
   long from = nowMs - (long)windowDays * BC_DAY_MS;
   double sum = 0.0, equity = 0.0, peak = 0.0, drawdown = 0.0;
   int wins = 0;
   count = 0;
   for(int i = 0; i < g_mxCount; i++) {
      if(g_mxMagic[i] != magic || g_mxTime[i] <= from) continue;
      double p = g_mxNet[i];
      count++;
      sum += p;
      if(p > 0) wins++;
      equity += p;
      if(equity > peak) peak = equity;
      if(peak - equity > drawdown) drawdown = peak - equity;
   }
   winRate = 0.0;
   avgProfit = 0.0;
   maxDrawdown = 0.0;
   sharpe = 0.0;
   if(count == 0) return;
   double mean = sum / count;
   double squares = 0.0;
   for(int j = 0; j < g_mxCount; j++) {
      if(g_mxMagic[j] != magic || g_mxTime[j] <= from) continue;
      squares += (g_mxNet[j] - mean) * (g_mxNet[j] - mean);
   }
   double spread = (count > 1) ? MathSqrt(squares / count) : 0.0;
   winRate = (double)wins / count;
   avgProfit = mean;
   maxDrawdown = drawdown;
   // Identical profits give a float residue instead of an exact 0 std; treat it as 0 like
   // the reference (statistics.pstdev is exact there), or Sharpe would explode.
   sharpe = (spread > 1e-9 && MathIsValidNumber(spread)) ? mean / spread : 0.0;
}

void BcAddUniqueMagic(long &magics[], int &n, long magic)
{
   for(int i = 0; i < n; i++)
      if(magics[i] == magic) return;
   ArrayResize(magics, n + 1, 16);
   magics[n] = magic;
   n++;
}

//--- The magics to report: configured ones, those with closes, and those with open orders.
int MetricsMagics(long &magics[])
{
   int n = 0;
   ArrayResize(magics, 0);
   for(int i = 0; i < g_osMagicCount; i++) BcAddUniqueMagic(magics, n, g_osMagics[i]);
   for(int j = 0; j < g_mxCount; j++) BcAddUniqueMagic(magics, n, g_mxMagic[j]);
   for(int k = 0; k < g_osKnownCount; k++) BcAddUniqueMagic(magics, n, g_osKnown[k].magic);
   return n;
}
//+------------------------------------------------------------------+
