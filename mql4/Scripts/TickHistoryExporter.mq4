//+------------------------------------------------------------------+
//| TickHistoryExporter.mq4 - export bar history for training.       |
//|                                                                  |
//| The trainers need the market the observed bots traded in, not   |
//| just their trades. This script writes, for every symbol that     |
//| appears in the account history plus the chart symbol, the bars   |
//| of the chosen timeframe over the last DaysBack days to           |
//| MQL4/Files/bars_<SYMBOL>_<TF>.csv:                               |
//|   symbol,time,open,high,low,close,tick_volume,spread             |
//| oldest first, time as "YYYY.MM.DD HH:MM" (server time, as MT4    |
//| shows it), prices with the symbol's digits, spread in points.    |
//| MT4 keeps no spread per bar in most histories (the field is 0);  |
//| then the symbol's current spread is written instead, which is    |
//| the best figure the terminal has.                                |
//+------------------------------------------------------------------+
#property copyright "BotCopier"
#property version   "1.00"
#property strict
#property script_show_inputs

input ENUM_TIMEFRAMES ExportTimeframe = PERIOD_M1; // Timeframe of the exported bars
input int             DaysBack        = 30;        // Days of history to export

string TfName(int tf)
{
   switch(tf) {
      case PERIOD_M1:  return "M1";
      case PERIOD_M5:  return "M5";
      case PERIOD_M15: return "M15";
      case PERIOD_M30: return "M30";
      case PERIOD_H1:  return "H1";
      case PERIOD_H4:  return "H4";
      case PERIOD_D1:  return "D1";
      case PERIOD_W1:  return "W1";
      case PERIOD_MN1: return "MN1";
   }
   return "M" + IntegerToString(tf);
}

//--- Symbol names like "XAU/USD" must not turn into sub-folders or invalid file names.
string FileSafe(string s)
{
   string out = s;
   int n = StringLen(out);
   for(int i = 0; i < n; i++) {
      ushort c = StringGetCharacter(out, i);
      if(c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|')
         StringSetCharacter(out, i, '_');
   }
   return out;
}

void AddSymbol(string &symbols[], int &n, string s)
{
   if(s == "") return;
   for(int i = 0; i < n; i++)
      if(symbols[i] == s) return;
   ArrayResize(symbols, n + 1, 16);
   symbols[n] = s;
   n++;
}

//--- The chart symbol first, then every traded symbol of the account history (balance and
//--- credit records carry no symbol and are skipped).
int CollectSymbols(string &symbols[])
{
   int n = 0;
   AddSymbol(symbols, n, Symbol());
   for(int i = 0; i < OrdersHistoryTotal(); i++) {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_HISTORY)) continue;
      if(OrderType() > OP_SELLSTOP) continue;
      AddSymbol(symbols, n, OrderSymbol());
   }
   return n;
}

//--- The terminal may still be downloading the history when first asked; retry for a while.
int FetchRates(string symbol, int tf, datetime from, datetime to, MqlRates &rates[])
{
   int got = -1;
   for(int attempt = 0; attempt < 10 && !IsStopped(); attempt++) {
      ResetLastError();
      got = CopyRates(symbol, (ENUM_TIMEFRAMES)tf, from, to, rates);
      if(got > 0) return got;
      Sleep(500);
   }
   return got;
}

bool WriteText(int handle, string text)
{
   uchar bytes[];
   int n = StringToCharArray(text, bytes, 0, -1, CP_ACP);
   if(n > 0 && bytes[n - 1] == 0) n--;
   if(n <= 0) return true;
   return (int)FileWriteArray(handle, bytes, 0, n) == n;
}

bool ExportSymbol(string symbol, int tf, datetime from, datetime to)
{
   if(!SymbolSelect(symbol, true)) {
      Print(symbol, ": not offered by this server, skipped");
      return false;
   }
   MqlRates rates[];
   ArraySetAsSeries(rates, false);   // oldest first
   int n = FetchRates(symbol, tf, from, to, rates);
   if(n <= 0) {
      Print(symbol, ": no ", TfName(tf), " bars in range (error ", GetLastError(), "), skipped");
      return false;
   }
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   int currentSpread = (int)MarketInfo(symbol, MODE_SPREAD);
   string name = "bars_" + FileSafe(symbol) + "_" + TfName(tf) + ".csv";
   ResetLastError();
   // Binary mode: exact bytes and "\n" line ends, whatever the text-mode conversions would do.
   int h = FileOpen(name, FILE_WRITE | FILE_BIN);
   if(h == INVALID_HANDLE) {
      Print(symbol, ": cannot write ", name, " (error ", GetLastError(), ")");
      return false;
   }
   bool ok = true;
   string chunk = "symbol,time,open,high,low,close,tick_volume,spread\n";
   for(int i = 0; i < n && ok; i++) {
      int spread = rates[i].spread;
      if(spread <= 0) spread = currentSpread;
      chunk += symbol + "," + TimeToString(rates[i].time, TIME_DATE | TIME_MINUTES)
               + "," + DoubleToString(rates[i].open, digits) + "," + DoubleToString(rates[i].high, digits)
               + "," + DoubleToString(rates[i].low, digits) + "," + DoubleToString(rates[i].close, digits)
               + "," + IntegerToString(rates[i].tick_volume) + "," + IntegerToString(spread) + "\n";
      if(StringLen(chunk) >= 65536) {
         ok = WriteText(h, chunk);
         chunk = "";
      }
   }
   if(ok) ok = WriteText(h, chunk);
   FileClose(h);
   if(!ok) {
      Print(symbol, ": write to ", name, " failed (error ", GetLastError(), ")");
      return false;
   }
   Print(symbol, ": ", n, " ", TfName(tf), " bars ", TimeToString(rates[0].time, TIME_DATE | TIME_MINUTES), " .. ",
         TimeToString(rates[n - 1].time, TIME_DATE | TIME_MINUTES), " -> MQL4/Files/", name);
   return true;
}

void OnStart()
{
   if(DaysBack < 1) {
      Print("TickHistoryExporter: DaysBack must be at least 1");
      return;
   }
   int tf = (ExportTimeframe == PERIOD_CURRENT) ? Period() : (int)ExportTimeframe;
   datetime to = TimeCurrent();
   datetime from = to - DaysBack * 86400;
   string symbols[];
   int n = CollectSymbols(symbols);
   Print("TickHistoryExporter: ", n, " symbol(s), ", TfName(tf), ", last ", DaysBack, " day(s)");
   int done = 0;
   for(int i = 0; i < n && !IsStopped(); i++) {
      Print("TickHistoryExporter: [", i + 1, "/", n, "] ", symbols[i]);
      if(ExportSymbol(symbols[i], tf, from, to)) done++;
   }
   Print("TickHistoryExporter: exported ", done, " of ", n, " symbol(s)");
}
//+------------------------------------------------------------------+
