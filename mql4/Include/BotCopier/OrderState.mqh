//+------------------------------------------------------------------+
//| OrderState.mqh - what the observed bots did to the order pool.   |
//|                                                                  |
//| MT4 has no trade-transaction events, so the Observer compares a  |
//| snapshot of the pool (filtered by magic) with the last one:      |
//|  - a new ticket is an OPEN (its parent_ticket set when MT4 says  |
//|    "from #<old>": the remainder of a partial close);             |
//|  - a changed SL/TP/lots/entry price is a MODIFY; a pending order |
//|    that turned into a market order was filled: an OPEN;          |
//|  - a vanished ticket is looked up in history and reported as a   |
//|    CLOSE with what MT4 recorded; if a remainder ticket exists    |
//|    ("to #<new>"), remaining_lots is its volume (partial close),  |
//|    and the CLOSE is emitted before the remainder's OPEN.         |
//| The known state is saved to MQL4/Files/botcopier_orders_<acct>  |
//| .csv and reloaded, so a terminal restart neither repeats nor     |
//| misses events: saved tickets now in history become CLOSEs, open |
//| tickets not in the file become OPENs, and orders that opened and |
//| closed while the terminal was off are recovered from history.    |
//| Times: MT4 reports server time; see Clock.mqh.                   |
//+------------------------------------------------------------------+
#property strict

#include "Spool.mqh"
#include "Clock.mqh"

// Timer cycles a vanished ticket may stay unfound in history before it is reported anyway.
#define BC_OS_MISSING_LIMIT  40
// Closed tickets are remembered this long before the save time (restart de-duplication).
#define BC_OS_RECENT_SEC     3600
// Restart recovery looks this far before the last save for closes it never saw.
#define BC_OS_RECOVER_SLACK  60
#define BC_OS_RESAVE_SEC     60

struct BcOrder
{
   long     ticket;
   long     magic;
   string   symbol;
   int      type;
   double   lots, openPrice;
   datetime openTime;
   double   sl, tp;
   long     parent;      // 0 = none
   int      missing;     // cycles gone from the pool without a history record
   double   profit, swap, commission;
   string   comment;
};

struct BcTradeEvent
{
   string   action;
   long     eventTimeMs, magic, ticket;
   long     parentTicket;       // 0 = none (sent as null)
   string   symbol;
   int      type;
   double   lots, openPrice;
   long     openTimeMs;         // 0 = unknown (sent as null)
   double   closePrice;
   bool     closePriceIsNull;
   long     closeTimeMs;
   bool     closeTimeMsIsNull;
   double   sl, tp, profit, swap, commission;
   string   comment;
   int      spreadPoints;
   double   remainingLots;
};

BcOrder      g_osKnown[];        // the watched orders as last seen
BcTradeEvent g_osEvents[];       // events of the last diff, for the EA to send
long         g_osClosedTicket[]; // recently closed tickets (restart de-duplication)
datetime     g_osClosedTime[];
long         g_osMagics[];
int          g_osKnownCount = 0, g_osEventCount = 0, g_osClosedCount = 0, g_osMagicCount = 0;
long         g_osOwnMagic = 0;
bool         g_osHaveSaved = false, g_osDirty = false;
string       g_osPath = "";
datetime     g_osSavedAt = 0, g_osLastSaveLocal = 0;

//--- The ticket number after prefix in an MT4 comment ("from #123", "to #456"); 0 if absent.
long BcParseTicketRef(string comment, string prefix)
{
   int p = StringFind(comment, prefix);
   if(p < 0) return 0;
   long v = 0;
   int n = StringLen(comment);
   for(int i = p + StringLen(prefix); i < n; i++) {
      ushort c = StringGetCharacter(comment, i);
      if(c < '0' || c > '9') break;
      v = v * 10 + (c - '0');
   }
   return v;
}

//--- "1001,1002" -> watch exactly those; "" -> every magic except the Observer's own.
bool OrderStateSetFilter(string list, long ownMagic)
{
   g_osOwnMagic = ownMagic;
   g_osMagicCount = 0;
   ArrayResize(g_osMagics, 0);
   string parts[];
   int n = StringSplit(list, ',', parts);
   bool ok = true;
   for(int i = 0; i < n; i++) {
      string t = StringTrimRight(StringTrimLeft(parts[i]));
      if(t == "") continue;
      if(IntegerToString(StringToInteger(t)) != t) { ok = false; continue; }
      ArrayResize(g_osMagics, g_osMagicCount + 1);
      g_osMagics[g_osMagicCount] = StringToInteger(t);
      g_osMagicCount++;
   }
   return ok;
}

bool OrderStateWatches(long magic)
{
   if(g_osMagicCount == 0) return magic != g_osOwnMagic;
   for(int i = 0; i < g_osMagicCount; i++)
      if(g_osMagics[i] == magic) return true;
   return false;
}

void BcOrderCopy(BcOrder &dst, const BcOrder &src)
{
   dst.ticket = src.ticket;        dst.magic = src.magic;          dst.symbol = src.symbol;
   dst.type = src.type;            dst.lots = src.lots;            dst.openPrice = src.openPrice;
   dst.openTime = src.openTime;    dst.sl = src.sl;                dst.tp = src.tp;
   dst.parent = src.parent;        dst.missing = src.missing;      dst.profit = src.profit;
   dst.swap = src.swap;            dst.commission = src.commission; dst.comment = src.comment;
}

int BcOsFind(const BcOrder &arr[], int count, long ticket)
{
   for(int i = 0; i < count; i++)
      if(arr[i].ticket == ticket) return i;
   return -1;
}

bool BcOsWasClosed(long ticket)
{
   for(int i = 0; i < g_osClosedCount; i++)
      if(g_osClosedTicket[i] == ticket) return true;
   return false;
}

void BcOsRememberClosed(long ticket, datetime at)
{
   if(BcOsWasClosed(ticket)) return;
   ArrayResize(g_osClosedTicket, g_osClosedCount + 1, 64);
   ArrayResize(g_osClosedTime, g_osClosedCount + 1, 64);
   g_osClosedTicket[g_osClosedCount] = ticket;
   g_osClosedTime[g_osClosedCount] = at;
   g_osClosedCount++;
}

//--- The watched trade orders now in the pool. False when the pool changed while being read.
bool BcOsSnapshot(BcOrder &cur[], int &count)
{
   count = 0;
   int total = OrdersTotal();
   ArrayResize(cur, total);
   for(int i = 0; i < total; i++) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES)) return false;
      int type = OrderType();
      if(type < OP_BUY || type > OP_SELLSTOP || !OrderStateWatches(OrderMagicNumber())) continue;
      cur[count].ticket = OrderTicket();       cur[count].magic = OrderMagicNumber();
      cur[count].symbol = OrderSymbol();       cur[count].type = type;
      cur[count].lots = OrderLots();           cur[count].openPrice = OrderOpenPrice();
      cur[count].openTime = OrderOpenTime();   cur[count].sl = OrderStopLoss();
      cur[count].tp = OrderTakeProfit();       cur[count].comment = OrderComment();
      cur[count].profit = OrderProfit();       cur[count].swap = OrderSwap();
      cur[count].commission = OrderCommission();
      cur[count].parent = BcParseTicketRef(cur[count].comment, "from #");
      cur[count].missing = 0;
      count++;
   }
   return OrdersTotal() == total;
}

//--- Selects the closed order with this ticket; falls back to a history scan because selecting
//--- by ticket can miss orders outside the terminal's loaded history.
bool BcOsSelectClosed(long ticket)
{
   if(OrderSelect((int)ticket, SELECT_BY_TICKET, MODE_HISTORY) && OrderCloseTime() > 0) return true;
   for(int i = OrdersHistoryTotal() - 1; i >= 0; i--) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_HISTORY)) continue;
      if(OrderTicket() == ticket) return OrderCloseTime() > 0;
   }
   return false;
}

//--- Appends an event with every field set (struct array elements start uninitialised).
int BcOsNewEvent(string action, long ticket, long magic, string symbol, int type, long eventTimeMs,
                 long parent, double lots, double openPrice, datetime openTime, double sl, double tp,
                 double profit, double swap, double commission, string comment, double remaining)
{
   int k = g_osEventCount;
   ArrayResize(g_osEvents, k + 1, 16);
   g_osEvents[k].action = action;            g_osEvents[k].eventTimeMs = eventTimeMs;
   g_osEvents[k].magic = magic;              g_osEvents[k].ticket = ticket;
   g_osEvents[k].parentTicket = parent;      g_osEvents[k].symbol = symbol;
   g_osEvents[k].type = type;                g_osEvents[k].lots = lots;
   g_osEvents[k].openPrice = openPrice;      g_osEvents[k].openTimeMs = BcServerToUtcMs(openTime);
   g_osEvents[k].closePrice = 0.0;           g_osEvents[k].closePriceIsNull = true;
   g_osEvents[k].closeTimeMs = 0;            g_osEvents[k].closeTimeMsIsNull = true;
   g_osEvents[k].sl = sl;                    g_osEvents[k].tp = tp;
   g_osEvents[k].profit = profit;            g_osEvents[k].swap = swap;
   g_osEvents[k].commission = commission;    g_osEvents[k].comment = comment;
   g_osEvents[k].remainingLots = remaining;
   g_osEvents[k].spreadPoints = (int)MarketInfo(symbol, MODE_SPREAD);
   g_osEventCount++;
   return k;
}

//--- OPEN or MODIFY of an order in the pool; the event time is when it was observed.
void BcOsEmitLive(string action, const BcOrder &o, long nowMs)
{
   BcOsNewEvent(action, o.ticket, o.magic, o.symbol, o.type, nowMs, o.parent, o.lots, o.openPrice,
                o.openTime, o.sl, o.tp, o.profit, o.swap, o.commission, o.comment, o.lots);
}

//--- OPEN of the selected history order, which opened and closed unseen (terminal off, or
//--- within one timer cycle). Its event time is its open time, so it precedes its CLOSE;
//--- profit and swap are unknown at open and sent as 0.
void BcOsEmitSelectedOpen(long parent)
{
   BcOsNewEvent("OPEN", OrderTicket(), OrderMagicNumber(), OrderSymbol(), OrderType(),
                BcServerToUtcMs(OrderOpenTime()), parent, OrderLots(), OrderOpenPrice(), OrderOpenTime(),
                OrderStopLoss(), OrderTakeProfit(), 0.0, 0.0, OrderCommission(), OrderComment(), OrderLots());
}

//--- CLOSE of the selected history order; lots are the closed lots, as MT4 records them.
int BcOsEmitSelectedClose(long parent)
{
   long closeMs = BcServerToUtcMs(OrderCloseTime());
   int k = BcOsNewEvent("CLOSE", OrderTicket(), OrderMagicNumber(), OrderSymbol(), OrderType(), closeMs,
                        parent, OrderLots(), OrderOpenPrice(), OrderOpenTime(), OrderStopLoss(),
                        OrderTakeProfit(), OrderProfit(), OrderSwap(), OrderCommission(), OrderComment(), 0.0);
   g_osEvents[k].closePrice = OrderClosePrice();
   g_osEvents[k].closePriceIsNull = false;
   g_osEvents[k].closeTimeMs = closeMs;
   g_osEvents[k].closeTimeMsIsNull = false;
   return k;
}

//--- A ticket gone from the pool that history never showed (history filtered or not loaded).
//--- Reported anyway so the bot's position is not left open downstream; close price and time
//--- are null because they are unknown, money fields are the last values seen.
void BcOsEmitLostClose(const BcOrder &o, long nowMs)
{
   BcOsNewEvent("CLOSE", o.ticket, o.magic, o.symbol, o.type, nowMs, o.parent, o.lots, o.openPrice,
                o.openTime, o.sl, o.tp, o.profit, o.swap, o.commission, o.comment, 0.0);
}

//--- Lots left open after closing ticket: the remainder MT4 created ("to #child" on the closed
//--- order, "from #ticket" on the remainder). Links the remainder to its parent on the way.
double BcOsRemainder(long ticket, long child, BcOrder &cur[], int curCount)
{
   for(int j = 0; j < curCount; j++) {
      if((child > 0 && cur[j].ticket == child) || cur[j].parent == ticket) {
         if(cur[j].parent == 0) cur[j].parent = ticket;
         return cur[j].lots;
      }
   }
   if(child > 0 && BcOsSelectClosed(child)) return OrderLots();
   return 0.0;
}

//--- CLOSE (preceded by an OPEN when withOpen) for the selected closed order, then the same for
//--- remainders that were themselves closed before any snapshot saw them.
void BcOsEmitVanished(long ticket, long parent, bool withOpen, BcOrder &cur[], int curCount)
{
   for(int depth = 0; depth < 20; depth++) {
      if(withOpen) BcOsEmitSelectedOpen(parent);
      long child = BcParseTicketRef(OrderComment(), "to #");
      BcOsRememberClosed(ticket, OrderCloseTime());
      int k = BcOsEmitSelectedClose(parent);
      g_osEvents[k].remainingLots = BcOsRemainder(ticket, child, cur, curCount);
      if(child <= 0 || BcOsFind(cur, curCount, child) >= 0 || BcOsFind(g_osKnown, g_osKnownCount, child) >= 0
         || BcOsWasClosed(child))
         return;
      if(!BcOsSelectClosed(child) || !OrderStateWatches(OrderMagicNumber())) return;
      parent = ticket;
      ticket = child;
      withOpen = true;
   }
}

//--- After a restart: watched orders closed since the last save that the saved state never
//--- knew (opened and closed while the terminal was off), reported in close-time order.
void BcOsRecoverOffline(BcOrder &cur[], int curCount)
{
   datetime since = g_osSavedAt - BC_OS_RECOVER_SLACK;
   long tickets[];
   datetime closed[];
   int n = 0;
   for(int i = OrdersHistoryTotal() - 1; i >= 0; i--) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_HISTORY)) continue;
      if(OrderType() > OP_SELLSTOP || OrderCloseTime() < since || !OrderStateWatches(OrderMagicNumber())) continue;
      long t = OrderTicket();
      long par = BcParseTicketRef(OrderComment(), "from #");
      // Remainders of a known order are reported after their parent's CLOSE, by the chain.
      if(BcOsFind(cur, curCount, t) >= 0 || BcOsFind(g_osKnown, g_osKnownCount, t) >= 0 || BcOsWasClosed(t)
         || (par > 0 && BcOsFind(g_osKnown, g_osKnownCount, par) >= 0))
         continue;
      datetime at = OrderCloseTime();
      ArrayResize(tickets, n + 1, 64);
      ArrayResize(closed, n + 1, 64);
      int pos = n;
      while(pos > 0 && closed[pos - 1] > at) {
         tickets[pos] = tickets[pos - 1];
         closed[pos] = closed[pos - 1];
         pos--;
      }
      tickets[pos] = t;
      closed[pos] = at;
      n++;
   }
   for(int j = 0; j < n; j++) {
      if(BcOsWasClosed(tickets[j]) || !BcOsSelectClosed(tickets[j])) continue;
      BcOsEmitVanished(tickets[j], BcParseTicketRef(OrderComment(), "from #"), true, cur, curCount);
   }
}

bool BcOsDiffers(const BcOrder &a, const BcOrder &b)
{
   return MathAbs(a.sl - b.sl) > 1e-7 || MathAbs(a.tp - b.tp) > 1e-7 || MathAbs(a.lots - b.lots) > 1e-7
          || MathAbs(a.openPrice - b.openPrice) > 1e-7;
}

//--- One comparison of the pool with the known state; the events land in g_osEvents, closes
//--- first, then fills/modifications, then opens. False when the pool could not be read
//--- consistently (try again next cycle).
bool OrderStateDiff(bool initial)
{
   ArrayResize(g_osEvents, 0, 16);
   g_osEventCount = 0;
   BcOrder cur[];
   int curCount = 0;
   if(!BcOsSnapshot(cur, curCount)) return false;
   // Right after login the pool and history can both still be empty while the terminal syncs.
   if(g_osKnownCount > 0 && OrdersTotal() == 0 && OrdersHistoryTotal() == 0) return false;
   long nowMs = BcNowUtcMs();
   bool changed = false;
   if(initial && g_osHaveSaved) BcOsRecoverOffline(cur, curCount);
   BcOrder keep[];
   int keepCount = 0;
   for(int k = 0; k < g_osKnownCount; k++) {
      long ticket = g_osKnown[k].ticket;
      if(BcOsFind(cur, curCount, ticket) >= 0) continue;
      if(BcOsSelectClosed(ticket)) {
         BcOsEmitVanished(ticket, g_osKnown[k].parent, false, cur, curCount);
         changed = true;
         continue;
      }
      // Still open but no longer watched (the magic filter changed): forget it quietly.
      if(OrderSelect((int)ticket, SELECT_BY_TICKET) && OrderCloseTime() == 0) {
         changed = true;
         continue;
      }
      g_osKnown[k].missing++;
      if(g_osKnown[k].missing >= BC_OS_MISSING_LIMIT) {
         Print("BotCopier: ticket ", ticket, " left the pool but is not in the account history; ",
               "reporting CLOSE without close price/time (is the History tab filtered?)");
         BcOsEmitLostClose(g_osKnown[k], nowMs);
         BcOsRememberClosed(ticket, TimeCurrent());
         changed = true;
         continue;
      }
      ArrayResize(keep, keepCount + 1, 8);
      BcOrderCopy(keep[keepCount], g_osKnown[k]);
      keepCount++;
   }
   for(int j = 0; j < curCount; j++) {
      int old = BcOsFind(g_osKnown, g_osKnownCount, cur[j].ticket);
      if(old < 0) continue;
      if(cur[j].parent == 0) cur[j].parent = g_osKnown[old].parent;
      if(cur[j].type != g_osKnown[old].type) {
         // A pending order became a market position: the bot is now in the market.
         BcOsEmitLive("OPEN", cur[j], nowMs);
         changed = true;
      } else if(BcOsDiffers(cur[j], g_osKnown[old])) {
         BcOsEmitLive("MODIFY", cur[j], nowMs);
         changed = true;
      }
   }
   for(int m = 0; m < curCount; m++) {
      if(BcOsFind(g_osKnown, g_osKnownCount, cur[m].ticket) >= 0) continue;
      BcOsEmitLive("OPEN", cur[m], nowMs);
      changed = true;
   }
   ArrayResize(g_osKnown, curCount + keepCount);
   for(int a = 0; a < curCount; a++) BcOrderCopy(g_osKnown[a], cur[a]);
   for(int b = 0; b < keepCount; b++) BcOrderCopy(g_osKnown[curCount + b], keep[b]);
   g_osKnownCount = curCount + keepCount;
   if(changed) g_osDirty = true;
   return true;
}

string BcOsCleanComment(string s)
{
   string out = s;
   StringReplace(out, "\r", " ");
   StringReplace(out, "\n", " ");
   return out;
}

string BcD8(double v)
{
   return DoubleToString(v, 8);
}

bool OrderStateSave()
{
   g_osSavedAt = TimeCurrent();
   int keep = 0;
   for(int i = 0; i < g_osClosedCount; i++) {
      if(g_osClosedTime[i] < g_osSavedAt - BC_OS_RECENT_SEC) continue;
      g_osClosedTicket[keep] = g_osClosedTicket[i];
      g_osClosedTime[keep] = g_osClosedTime[i];
      keep++;
   }
   g_osClosedCount = keep;
   string text = "botcopier_orders,1\n";
   text += "saved_at," + IntegerToString((long)g_osSavedAt) + "\n";
   text += "offset," + IntegerToString(g_clockOffsetSec) + "," + (g_clockOffsetKnown ? "1" : "0") + "\n";
   for(int k = 0; k < g_osKnownCount; k++) {
      text += "order," + IntegerToString(g_osKnown[k].ticket) + "," + IntegerToString(g_osKnown[k].magic)
              + "," + g_osKnown[k].symbol + "," + IntegerToString(g_osKnown[k].type)
              + "," + BcD8(g_osKnown[k].lots) + "," + BcD8(g_osKnown[k].openPrice)
              + "," + IntegerToString((long)g_osKnown[k].openTime) + "," + BcD8(g_osKnown[k].sl)
              + "," + BcD8(g_osKnown[k].tp) + "," + IntegerToString(g_osKnown[k].parent)
              + "," + IntegerToString(g_osKnown[k].missing) + "," + BcD8(g_osKnown[k].profit)
              + "," + BcD8(g_osKnown[k].swap) + "," + BcD8(g_osKnown[k].commission)
              + "," + BcOsCleanComment(g_osKnown[k].comment) + "\n";
   }
   for(int c = 0; c < g_osClosedCount; c++)
      text += "closed," + IntegerToString(g_osClosedTicket[c]) + "," + IntegerToString((long)g_osClosedTime[c]) + "\n";
   bool ok = BcFileWriteText(g_osPath, text);
   if(ok) {
      g_osDirty = false;
      g_osHaveSaved = true;
      g_osLastSaveLocal = TimeLocal();
   }
   return ok;
}

//--- Saved after every change, and once a minute so the restart recovery window stays short.
bool OrderStateSaveDue()
{
   return g_osDirty || TimeLocal() - g_osLastSaveLocal >= BC_OS_RESAVE_SEC;
}

//--- Loads the state saved by the last run (orders of magics no longer watched are dropped).
bool OrderStateLoad(string path)
{
   g_osPath = path;
   g_osKnownCount = 0;
   g_osClosedCount = 0;
   g_osHaveSaved = false;
   g_osDirty = false;
   string lines[];
   int n = BcFileReadLines(path, lines);
   if(n < 0) return false;
   for(int i = 0; i < n; i++) {
      string f[];
      int m = StringSplit(lines[i], ',', f);
      if(m >= 2 && f[0] == "saved_at") {
         g_osSavedAt = (datetime)StringToInteger(f[1]);
         g_osHaveSaved = true;
      } else if(m >= 3 && f[0] == "offset") {
         g_clockOffsetSec = StringToInteger(f[1]);
         g_clockOffsetKnown = (f[2] == "1");
      } else if(m >= 3 && f[0] == "closed") {
         BcOsRememberClosed(StringToInteger(f[1]), (datetime)StringToInteger(f[2]));
      } else if(m >= 15 && f[0] == "order" && OrderStateWatches(StringToInteger(f[2]))) {
         int k = g_osKnownCount;
         ArrayResize(g_osKnown, k + 1, 16);
         g_osKnown[k].ticket = StringToInteger(f[1]);     g_osKnown[k].magic = StringToInteger(f[2]);
         g_osKnown[k].symbol = f[3];                      g_osKnown[k].type = (int)StringToInteger(f[4]);
         g_osKnown[k].lots = StringToDouble(f[5]);        g_osKnown[k].openPrice = StringToDouble(f[6]);
         g_osKnown[k].openTime = (datetime)StringToInteger(f[7]);
         g_osKnown[k].sl = StringToDouble(f[8]);          g_osKnown[k].tp = StringToDouble(f[9]);
         g_osKnown[k].parent = StringToInteger(f[10]);    g_osKnown[k].missing = (int)StringToInteger(f[11]);
         g_osKnown[k].profit = StringToDouble(f[12]);     g_osKnown[k].swap = StringToDouble(f[13]);
         g_osKnown[k].commission = StringToDouble(f[14]);
         // The comment is the last field and may itself contain commas (or be empty).
         string comment = (m > 15) ? f[15] : "";
         for(int c = 16; c < m; c++) comment += "," + f[c];
         g_osKnown[k].comment = comment;
         g_osKnownCount++;
      }
   }
   return true;
}
//+------------------------------------------------------------------+
