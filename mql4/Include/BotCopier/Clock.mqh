//+------------------------------------------------------------------+
//| Clock.mqh - server time to UTC.                                  |
//|                                                                  |
//| MT4 stamps bars and orders in the broker's server time; every    |
//| time BotCopier sends or computes with is UTC. The offset is kept |
//| here so the Observer and the generated strategy EAs agree.       |
//+------------------------------------------------------------------+
#property strict

// Saved with the Observer's order state (OrderState.mqh) and reloaded at start.
long g_clockOffsetSec = 0;
bool g_clockOffsetKnown = false;

//--- Server time zone offset in seconds. MT4 reports order times in the broker's server time;
//--- the offset to UTC is TimeCurrent() - TimeGMT() (last server tick time minus the PC's UTC
//--- clock), so utc_ms = (long)(t - (TimeCurrent() - TimeGMT())) * 1000. The offset is rounded
//--- to 15 minutes because TimeCurrent() only moves with ticks while every real zone offset is
//--- a multiple of 15 minutes. Beyond +-14 h TimeCurrent() is stale (weekend, no connection):
//--- the last good offset is kept, and it is saved with the order state for the next start.
long BcServerOffsetSec()
{
   long raw = (long)(TimeCurrent() - TimeGMT());
   long rounded = (long)MathRound(raw / 900.0) * 900;
   if(rounded >= -50400 && rounded <= 50400) {
      g_clockOffsetSec = rounded;
      g_clockOffsetKnown = true;
   }
   return g_clockOffsetKnown ? g_clockOffsetSec : raw;
}

long BcServerToUtcMs(datetime t)
{
   if(t <= 0) return 0;
   return ((long)t - BcServerOffsetSec()) * 1000;
}

long BcNowUtcMs()
{
   return (long)TimeGMT() * 1000;
}

//--- A server time as UTC (bar times: Time[0] is the open of the bar now forming).
datetime BcUtc(datetime serverTime)
{
   return (datetime)((long)serverTime - BcServerOffsetSec());
}
