//+------------------------------------------------------------------+
//| Observer_TBot.mq4 - BotCopier Observer EA.                       |
//|                                                                  |
//| Watches the orders of OTHER EAs on this account (by magic) and   |
//| reports them to the BotCopier bridge (bridge/PROTOCOL.md):       |
//| TradeEvent frames for every OPEN/MODIFY/CLOSE, a MetricSnapshot  |
//| per observed magic every MetricsIntervalSeconds, and optionally  |
//| Tick/Bar frames of the chart symbol. It never trades.            |
//|                                                                  |
//| Delivery is at-least-once, as in bridge/client.py: every event   |
//| is numbered (seq, persisted, strictly increasing) and spooled to |
//| MQL4/Files before it is sent; after each (re)connect the EA says |
//| hello, drops what welcome.acked_seq covers and replays the rest  |
//| in seq order; cumulative acks empty the spool. Reconnects back   |
//| off exponentially (100 ms doubling to 5 s, with jitter); a ping  |
//| goes out when nothing was sent for heartbeat_s.                  |
//|                                                                  |
//| Everything runs from a millisecond timer, non-blocking, so a     |
//| dead bridge never stalls observation. Needs "Allow DLL imports"  |
//| (ws2_32.dll); without it events are observed and spooled only.   |
//| The token is never printed or written anywhere but the socket.   |
//+------------------------------------------------------------------+
#property copyright "BotCopier"
#property version   "1.00"
#property strict

// Each module is included exactly once: Frames brings Json; Metrics brings OrderState, which
// brings Spool; Link (the bridge connection) needs all of them.
#include <BotCopier\Frames.mqh>
#include <BotCopier\Socket.mqh>
#include <BotCopier\Metrics.mqh>
#include <BotCopier\Link.mqh>

input string BridgeHost             = "127.0.0.1"; // Bridge IPv4 address (or localhost)
input int    BridgePort             = 5555;        // Bridge TCP port
input string EaId                   = "";          // ea_id; empty = observer-<account>
input string BridgeToken            = "";          // Token from [bridge.tokens] (never logged)
input string MagicNumbers           = "";          // Magics to observe, e.g. 1001,1002; empty = all but ObserverMagic
input int    ObserverMagic          = 0;           // This EA's own magic (excluded when observing all)
input int    TimerMilliseconds      = 250;         // Observation and network cycle
input int    LogBufferSize          = 1000;        // Frames buffered in memory before a forced spool write
input int    MetricsRollingDays     = 30;          // Window of the reported metrics
input int    MetricsDaysToKeep      = 90;          // Local close history kept for metrics
input int    MetricsIntervalSeconds = 300;         // Seconds between MetricSnapshot rounds
input bool   SendTicks              = false;       // Send Tick frames of the chart symbol
input bool   SendBars               = false;       // Send a Bar frame per closed chart bar
input bool   EnableDebugLogging     = false;       // Verbose Print output
input int    ConnectTimeoutMs       = 2000;        // TCP connect timeout

#define BC_VERSION           "1.0.0"
// After login the order pool needs a moment to sync; diffing an empty pool would invent closes.
#define BC_SETTLE_MS         3000

bool        g_started = false;
bool        g_initialDiffDone = false;
string      g_broker = "";
long        g_lastMetricsMs = 0;
long        g_connectedSinceMs = 0;
datetime    g_lastBarTime = 0;

//+------------------------------------------------------------------+
int OnInit()
{
   // MT4 keeps an EA's globals across a chart or input change (deinit + init without reload),
   // so everything an earlier run may have left behind is reset here.
   g_bcDebug = EnableDebugLogging;
   g_started = false;
   g_initialDiffDone = false;
   g_connectedSinceMs = 0;
   g_lastMetricsMs = 0;
   LinkConfigure(BridgeHost, BridgePort, BridgeToken, ConnectTimeoutMs);
   if(BridgePort <= 0 || BridgePort > 65535 || TimerMilliseconds < 10 || ConnectTimeoutMs < 50
      || LogBufferSize < 1 || MetricsRollingDays < 1 || MetricsDaysToKeep < MetricsRollingDays
      || MetricsIntervalSeconds < 1) {
      Print("BotCopier: invalid inputs (port, timer, buffer, metrics days/interval)");
      return INIT_PARAMETERS_INCORRECT;
   }
   if(EaId != "" && !BcValidEaId(EaId)) {
      Print("BotCopier: EaId must be 1-64 characters of A-Z a-z 0-9 . _ : -");
      return INIT_PARAMETERS_INCORRECT;
   }
   if(!OrderStateSetFilter(MagicNumbers, ObserverMagic)) {
      Print("BotCopier: MagicNumbers must be comma-separated integers, e.g. 1001,1002");
      return INIT_PARAMETERS_INCORRECT;
   }
   LinkStartup();
   MathSrand((int)GetTickCount());
   if(!EventSetMillisecondTimer(TimerMilliseconds)) {
      Print("BotCopier: cannot start the timer, error ", GetLastError());
      return INIT_FAILED;
   }
   StartObserver();
   return INIT_SUCCEEDED;
}

void OnDeinit(const int reason)
{
   EventKillTimer();
   if(g_started) {
      // The order state may only move past events that are safely in the spool.
      if(SpoolFlush()) OrderStateSave();
      MetricsSave();
      SpoolClose();
      Print("BotCopier: stopped (reason ", reason, "), next_seq=", g_nextSeq, " acked_seq=", g_ackedSeq,
            " unacked=", SpoolUnacked());
   }
   if(g_dllOk) SockShutdown();
   g_linkState = BC_LINK_DOWN;
   g_started = false;
}

void OnTimer()
{
   if(!g_started && !StartObserver()) return;
   ObserveOrders();
   SendMetricsIfDue();
   if(SpoolFlush() && OrderStateSaveDue()) OrderStateSave();
   MetricsSave();
   ServiceBridge();
}

void OnTick()
{
   if(!g_started) return;
   if(SendTicks) {
      MqlTick tick;
      if(SymbolInfoTick(Symbol(), tick)) {
         long seq = SpoolAllocSeq();
         SpoolAppend(seq, BuildTickFrame(seq, BcEventId(seq), BC_SCHEMA_VERSION, BcServerToUtcMs(tick.time),
                                         g_broker, Symbol(), tick.bid, tick.ask, (long)tick.volume));
      }
   }
   if(SendBars) SendClosedBar();
}

//+------------------------------------------------------------------+
//| Observation                                                      |
//+------------------------------------------------------------------+
//--- Waits for a logged-in, synced terminal: the account number names every state file.
bool StartObserver()
{
   if(g_started) return true;
   if(AccountNumber() == 0 || !IsConnected()) {
      g_connectedSinceMs = 0;
      return false;
   }
   long now = SockNowMs();
   if(g_connectedSinceMs == 0) g_connectedSinceMs = now;
   if(now - g_connectedSinceMs < BC_SETTLE_MS) return false;
   g_account = AccountNumber();
   g_broker = AccountCompany();
   g_eaId = (EaId != "") ? EaId : "observer-" + IntegerToString(g_account);
   SpoolInit(BcSafeFileToken(g_eaId), LogBufferSize);
   if(!OrderStateLoad("botcopier_orders_" + IntegerToString(g_account) + ".csv"))
      Print("BotCopier: saved order state unreadable; open orders will be reported as OPEN");
   MetricsInit("botcopier_metrics_" + IntegerToString(g_account) + ".csv", BcNowUtcMs(), MetricsDaysToKeep);
   g_started = true;
   g_lastBarTime = iTime(Symbol(), Period(), 1);
   ObserveOrders();
   WriteRunInfo();
   Print("BotCopier Observer ", BC_VERSION, " started: ea_id=", g_eaId, " account=", g_account,
         " magics=", (MagicNumbers == "" ? "all" : MagicNumbers), " bridge=", BridgeHost, ":", BridgePort,
         " next_seq=", g_nextSeq, " acked_seq=", g_ackedSeq);
   return true;
}

void ObserveOrders()
{
   // A disconnected terminal's pool is frozen; closes found now could not be looked up.
   if(!IsConnected()) return;
   if(!OrderStateDiff(!g_initialDiffDone)) return;
   g_initialDiffDone = true;
   for(int i = 0; i < g_osEventCount; i++) EmitTradeEvent(i);
}

//--- The wire name of an MT4 order type (OP_BUY .. OP_SELLSTOP).
string BcOrderTypeName(int type)
{
   if(type == OP_SELL) return "SELL";
   if(type == OP_BUYLIMIT) return "BUY_LIMIT";
   if(type == OP_SELLLIMIT) return "SELL_LIMIT";
   if(type == OP_BUYSTOP) return "BUY_STOP";
   if(type == OP_SELLSTOP) return "SELL_STOP";
   return "BUY";
}

void EmitTradeEvent(int i)
{
   long seq = SpoolAllocSeq();
   string frame = BuildTradeFrame(seq, BcEventId(seq), BC_SCHEMA_VERSION, g_osEvents[i].eventTimeMs, g_account,
                                  g_broker, g_osEvents[i].magic, g_osEvents[i].ticket, g_osEvents[i].parentTicket,
                                  g_osEvents[i].parentTicket <= 0, g_osEvents[i].symbol, g_osEvents[i].action,
                                  BcOrderTypeName(g_osEvents[i].type), g_osEvents[i].lots, g_osEvents[i].openPrice,
                                  g_osEvents[i].openTimeMs, g_osEvents[i].openTimeMs <= 0, g_osEvents[i].closePrice,
                                  g_osEvents[i].closePriceIsNull, g_osEvents[i].closeTimeMs,
                                  g_osEvents[i].closeTimeMsIsNull, g_osEvents[i].sl, g_osEvents[i].tp,
                                  g_osEvents[i].profit, g_osEvents[i].swap, g_osEvents[i].commission,
                                  g_osEvents[i].comment, g_osEvents[i].spreadPoints, g_osEvents[i].remainingLots);
   SpoolAppend(seq, frame);
   BcDebug(g_osEvents[i].action + " ticket " + IntegerToString(g_osEvents[i].ticket) + " magic "
           + IntegerToString(g_osEvents[i].magic) + " seq " + IntegerToString(seq));
   // Only real market closes with a known close time are trades for the metrics.
   if(g_osEvents[i].action == "CLOSE" && g_osEvents[i].type <= OP_SELL && !g_osEvents[i].closeTimeMsIsNull)
      MetricsAdd(g_osEvents[i].magic, g_osEvents[i].ticket, g_osEvents[i].closeTimeMs,
                 g_osEvents[i].profit + g_osEvents[i].swap + g_osEvents[i].commission);
}

void SendMetricsIfDue()
{
   long now = SockNowMs();
   if(g_lastMetricsMs != 0 && now - g_lastMetricsMs < (long)MetricsIntervalSeconds * 1000) return;
   g_lastMetricsMs = now;
   long nowMs = BcNowUtcMs();
   MetricsPrune(nowMs, MetricsDaysToKeep);
   long magics[];
   int n = MetricsMagics(magics);
   for(int i = 0; i < n; i++) {
      double winRate, avgProfit, maxDrawdown, sharpe;
      int tradeCount;
      MetricsCompute(magics[i], nowMs, MetricsRollingDays, winRate, avgProfit, tradeCount, maxDrawdown, sharpe);
      long seq = SpoolAllocSeq();
      SpoolAppend(seq, BuildMetricFrame(seq, BcEventId(seq), BC_SCHEMA_VERSION, nowMs, g_account, magics[i],
                                        MetricsRollingDays, winRate, avgProfit, tradeCount, maxDrawdown, sharpe,
                                        g_fileWriteErrors, g_socketErrors));
   }
   BcDebug("metrics sent for " + IntegerToString(n) + " magic(s)");
}

//--- One Bar frame per newly closed bar of the chart; event time is the bar's open time.
void SendClosedBar()
{
   datetime barTime = iTime(Symbol(), Period(), 1);
   if(barTime <= 0 || barTime == g_lastBarTime) return;
   g_lastBarTime = barTime;
   long seq = SpoolAllocSeq();
   SpoolAppend(seq, BuildBarFrame(seq, BcEventId(seq), BC_SCHEMA_VERSION, BcServerToUtcMs(barTime), g_broker,
                                  Symbol(), Period(), iOpen(Symbol(), Period(), 1), iHigh(Symbol(), Period(), 1),
                                  iLow(Symbol(), Period(), 1), iClose(Symbol(), Period(), 1),
                                  (long)iVolume(Symbol(), Period(), 1), (int)MarketInfo(Symbol(), MODE_SPREAD)));
}

void BcAddUniqueString(string &items[], int &n, string item)
{
   if(item == "") return;
   for(int i = 0; i < n; i++)
      if(items[i] == item) return;
   ArrayResize(items, n + 1, 16);
   items[n] = item;
   n++;
}

//--- run_info.json: what this Observer is and where it reports (no token).
void WriteRunInfo()
{
   string symbols[];
   int n = 0;
   BcAddUniqueString(symbols, n, Symbol());
   for(int k = 0; k < g_osKnownCount; k++) BcAddUniqueString(symbols, n, g_osKnown[k].symbol);
   datetime since = TimeCurrent() - MetricsDaysToKeep * 86400;
   for(int h = OrdersHistoryTotal() - 1; h >= 0; h--) {
      if(!OrderSelect(h, SELECT_BY_POS, MODE_HISTORY)) continue;
      if(OrderType() <= OP_SELLSTOP && OrderCloseTime() >= since && OrderStateWatches(OrderMagicNumber()))
         BcAddUniqueString(symbols, n, OrderSymbol());
   }
   string list = "";
   for(int i = 0; i < n; i++) list += (i > 0 ? "," : "") + JsonString(symbols[i]);
   string j = "{";
   j += JsonKeyString("version", BC_VERSION);
   j += "," + JsonKeyString("ea_id", g_eaId);
   j += "," + JsonKeyString("broker", AccountCompany());
   j += "," + JsonKeyLong("account", g_account);
   j += "," + JsonKeyString("server", AccountServer());
   j += ",\"symbols\":[" + list + "]";
   j += "," + JsonKeyString("magic_numbers", MagicNumbers);
   j += "," + JsonKeyLong("observer_magic", ObserverMagic);
   j += "," + JsonKeyLong("terminal_build", TerminalInfoInteger(TERMINAL_BUILD));
   j += "," + JsonKeyString("bridge_host", BridgeHost);
   j += "," + JsonKeyLong("bridge_port", BridgePort);
   j += "," + JsonKeyLong("protocol", BC_PROTOCOL);
   j += "," + JsonKeyLong("schema_version", BC_SCHEMA_VERSION);
   j += "," + JsonKeyLong("started_at_ms", BcNowUtcMs());
   j += "}\n";
   if(!BcFileWriteText("run_info.json", j)) Print("BotCopier: cannot write run_info.json");
}

//+------------------------------------------------------------------+
