//+------------------------------------------------------------------+
//| ModelFile.mqh - reads a model.json (schemas/model.schema.json)   |
//|                 into flat arrays, and evaluates it.              |
//|                                                                  |
//| The strategy EA keeps its model in MQL4/Files and reads it at    |
//| run time, so a retrained model of any family (linear, LightGBM,  |
//| XGBoost, CatBoost: all trees share LightGBM's node layout) is    |
//| picked up without recompiling. The document is walked once: a    |
//| recursive JSON reader calls BcModelObjectStart/End and           |
//| BcModelValue with each value's path ("/scaler/mean/#": "#" is an |
//| array element), and those fill a BcModel. codegen/model_mirror.py|
//| is the same walk in Python, line for line: tests pin it to the   |
//| trainer's reference evaluator.                                   |
//|                                                                  |
//| Needs Frames.mqh (ReplySkipWs, ReplyParseString) included first. |
//+------------------------------------------------------------------+
#property strict

#define BC_MODEL_MAX_DEPTH 256
#define BC_MISSING_NONE    0
#define BC_MISSING_ZERO    1
#define BC_MISSING_NAN     2

class BcModel
{
public:
   string name;
   string version;
   string family;
   string error;
   int    formatVersion;
   int    numClass;
   string classes[];
   string features[];
   int    slots[];           // the EA's feature index of each model feature
   double mean[];
   double scale[];
   double coef[];            // linear: row-major, one row of features per class
   double intercepts[];
   double thresholds[];      // per class; none's stays 0
   // Trees: every node in these arrays; a leaf has nodeLeft = -1.
   int    treeRoot[];
   int    nodeFeature[];
   double nodeThreshold[];
   bool   nodeDefaultLeft[];
   int    nodeMissing[];
   int    nodeLeft[];
   int    nodeRight[];
   double nodeValue[];
   int    stack[];           // nodes being read, innermost last
   int    depth;
   // Stops: ridge regressors on the scaled features (absent: the EA's inputs).
   bool   hasSl;
   bool   hasTp;
   double slIntercept;
   double tpIntercept;
   double slCoef[];
   double tpCoef[];
   string paritySymbols[];
   double parityWeights[];
   int    maxTickets;        // orders the EA may hold on one side (a pyramid: above 1)
   // The bot's own stop moves (price distances, 0: not learned): see BcModelBreakEvenPips.
   double breakEvenDistance;
   double trailingDistance;
};

//--- Appends to a dynamic array; returns the new element's index.
int BcPushDouble(double &items[], double value)
{
   int n = ArraySize(items);
   ArrayResize(items, n + 1, 256);
   items[n] = value;
   return n;
}

int BcPushInt(int &items[], int value)
{
   int n = ArraySize(items);
   ArrayResize(items, n + 1, 256);
   items[n] = value;
   return n;
}

int BcPushString(string &items[], string value)
{
   int n = ArraySize(items);
   ArrayResize(items, n + 1, 16);
   items[n] = value;
   return n;
}

int BcPushBool(bool &items[], bool value)
{
   int n = ArraySize(items);
   ArrayResize(items, n + 1, 256);
   items[n] = value;
   return n;
}

void BcModelReset(BcModel &m)
{
   m.name = "";
   m.version = "";
   m.family = "";
   m.error = "";
   m.formatVersion = 0;
   m.numClass = 0;
   ArrayResize(m.classes, 0);
   ArrayResize(m.features, 0);
   ArrayResize(m.slots, 0);
   ArrayResize(m.mean, 0);
   ArrayResize(m.scale, 0);
   ArrayResize(m.coef, 0);
   ArrayResize(m.intercepts, 0);
   ArrayResize(m.thresholds, 0);
   ArrayResize(m.treeRoot, 0);
   ArrayResize(m.nodeFeature, 0);
   ArrayResize(m.nodeThreshold, 0);
   ArrayResize(m.nodeDefaultLeft, 0);
   ArrayResize(m.nodeMissing, 0);
   ArrayResize(m.nodeLeft, 0);
   ArrayResize(m.nodeRight, 0);
   ArrayResize(m.nodeValue, 0);
   ArrayResize(m.stack, 0);
   m.depth = 0;
   m.hasSl = false;
   m.hasTp = false;
   m.slIntercept = 0.0;
   m.tpIntercept = 0.0;
   ArrayResize(m.slCoef, 0);
   ArrayResize(m.tpCoef, 0);
   ArrayResize(m.paritySymbols, 0);
   ArrayResize(m.parityWeights, 0);
   m.maxTickets = 1;
   m.breakEvenDistance = 0.0;
   m.trailingDistance = 0.0;
}

//+------------------------------------------------------------------+
//| The walk's hooks                                                 |
//+------------------------------------------------------------------+
#define BC_TREES "/estimator/dump/tree_info/#/tree_structure"

bool BcIsTreePath(const string path)
{
   return StringFind(path, BC_TREES) == 0;
}

//--- A tree node's own path: the tree's root followed only by left_child / right_child steps
//--- (an unknown key inside a tree is not a node, nor is anything beneath it).
bool BcIsNodePath(const string path)
{
   if(!BcIsTreePath(path))
      return false;
   string rest = StringSubstr(path, StringLen(BC_TREES));
   while(StringLen(rest) > 0) {
      if(StringFind(rest, "/left_child") == 0)
         rest = StringSubstr(rest, 11);
      else if(StringFind(rest, "/right_child") == 0)
         rest = StringSubstr(rest, 12);
      else
         return false;
   }
   return true;
}

int BcNewNode(BcModel &m)
{
   BcPushInt(m.nodeFeature, -1);
   BcPushDouble(m.nodeThreshold, 0.0);
   BcPushBool(m.nodeDefaultLeft, true);
   BcPushInt(m.nodeMissing, BC_MISSING_NONE);
   BcPushInt(m.nodeLeft, -1);
   BcPushInt(m.nodeRight, -1);
   return BcPushDouble(m.nodeValue, 0.0);
}

void BcModelObjectStart(BcModel &m, const string path, const string key)
{
   if(!BcIsNodePath(path))
      return;
   if(key == "tree_structure") {
      int root = BcNewNode(m);
      BcPushInt(m.treeRoot, root);
      BcPushInt(m.stack, root);
   } else if(key == "left_child" || key == "right_child") {
      int parent = m.stack[ArraySize(m.stack) - 1];
      int child = BcNewNode(m);
      if(key == "left_child")
         m.nodeLeft[parent] = child;
      else
         m.nodeRight[parent] = child;
      BcPushInt(m.stack, child);
   }
}

void BcModelObjectEnd(BcModel &m, const string path, const string key)
{
   if(BcIsNodePath(path) && (key == "tree_structure" || key == "left_child" || key == "right_child"))
      ArrayResize(m.stack, ArraySize(m.stack) - 1);
}

//--- A scalar: text is a string's unescaped text or a literal's token ("1.5", "true", "null").
void BcModelValue(BcModel &m, const string path, const string key, const string text, bool isString)
{
   if(BcIsTreePath(path)) {
      if(!BcIsNodePath(StringSubstr(path, 0, StringLen(path) - StringLen(key) - 1)))
         return;
      int node = m.stack[ArraySize(m.stack) - 1];
      if(key == "split_feature")
         m.nodeFeature[node] = (int)StringToInteger(text);
      else if(key == "threshold")
         m.nodeThreshold[node] = StringToDouble(text);
      else if(key == "default_left")
         m.nodeDefaultLeft[node] = (text == "true");
      else if(key == "missing_type")
         m.nodeMissing[node] = text == "NaN" ? BC_MISSING_NAN : (text == "Zero" ? BC_MISSING_ZERO : BC_MISSING_NONE);
      else if(key == "leaf_value")
         m.nodeValue[node] = StringToDouble(text);
      else if(key == "decision_type" && text != "<=")
         m.error = "unsupported tree split " + text;
      return;
   }
   if(path == "/format") {
      if(text != "botcopier.model")
         m.error = "not a botcopier model (format " + text + ")";
   } else if(path == "/format_version")
      m.formatVersion = (int)StringToInteger(text);
   else if(path == "/name")
      m.name = text;
   else if(path == "/version")
      m.version = text;
   else if(path == "/classes/#")
      BcPushString(m.classes, text);
   else if(path == "/features/#/name")
      BcPushString(m.features, text);
   else if(path == "/scaler/mean/#")
      BcPushDouble(m.mean, StringToDouble(text));
   else if(path == "/scaler/scale/#")
      BcPushDouble(m.scale, StringToDouble(text));
   else if(path == "/estimator/family")
      m.family = text;
   else if(path == "/estimator/num_class")
      m.numClass = (int)StringToInteger(text);
   else if(path == "/estimator/coefficients/#/#")
      BcPushDouble(m.coef, StringToDouble(text));
   else if(path == "/estimator/intercepts/#")
      BcPushDouble(m.intercepts, StringToDouble(text));
   else if(path == "/thresholds/" + key)
      BcModelSetThreshold(m, key, StringToDouble(text));
   else if(path == "/stops/sl_distance/intercept") {
      m.hasSl = true;
      m.slIntercept = StringToDouble(text);
   } else if(path == "/stops/sl_distance/coefficients/#")
      BcPushDouble(m.slCoef, StringToDouble(text));
   else if(path == "/stops/tp_distance/intercept") {
      m.hasTp = true;
      m.tpIntercept = StringToDouble(text);
   } else if(path == "/stops/tp_distance/coefficients/#")
      BcPushDouble(m.tpCoef, StringToDouble(text));
   else if(path == "/risk_parity/symbols/#")
      BcPushString(m.paritySymbols, text);
   else if(path == "/risk_parity/weights/#")
      BcPushDouble(m.parityWeights, StringToDouble(text));
   else if(path == "/max_tickets")
      m.maxTickets = (int)StringToInteger(text);
   else if(path == "/management/break_even_distance")
      m.breakEvenDistance = StringToDouble(text);
   else if(path == "/management/trailing_distance")
      m.trailingDistance = StringToDouble(text);
}

//--- Thresholds come before or after classes in the file (keys are sorted): keep them by
//--- name until the classes are known.
string g_bcPendingThresholdClass[];
double g_bcPendingThreshold[];

void BcModelSetThreshold(BcModel &m, const string label, double value)
{
   BcPushString(g_bcPendingThresholdClass, label);
   BcPushDouble(g_bcPendingThreshold, value);
}

//+------------------------------------------------------------------+
//| The JSON walk                                                    |
//+------------------------------------------------------------------+
//--- Reads the value at i (path and key name it); returns the index after it, or -1.
int BcJsonWalk(BcModel &m, const string s, int i, const int n, const string path, const string key)
{
   if(m.depth > BC_MODEL_MAX_DEPTH)
      return -1;
   i = ReplySkipWs(s, i, n);
   if(i >= n)
      return -1;
   ushort c = StringGetCharacter(s, i);
   if(c == '{') {
      m.depth++;
      BcModelObjectStart(m, path, key);
      i = ReplySkipWs(s, i + 1, n);
      if(i < n && StringGetCharacter(s, i) == '}')
         i++;
      else {
         while(true) {
            string member;
            i = ReplyParseString(s, ReplySkipWs(s, i, n), n, member);
            if(i < 0)
               return -1;
            i = ReplySkipWs(s, i, n);
            if(i >= n || StringGetCharacter(s, i) != ':')
               return -1;
            i = BcJsonWalk(m, s, i + 1, n, path + "/" + member, member);
            if(i < 0)
               return -1;
            i = ReplySkipWs(s, i, n);
            if(i >= n)
               return -1;
            c = StringGetCharacter(s, i);
            i++;
            if(c == '}')
               break;
            if(c != ',')
               return -1;
         }
      }
      BcModelObjectEnd(m, path, key);
      m.depth--;
      return i;
   }
   if(c == '[') {
      m.depth++;
      i = ReplySkipWs(s, i + 1, n);
      if(i < n && StringGetCharacter(s, i) == ']')
         i++;
      else {
         int index = 0;
         while(true) {
            i = BcJsonWalk(m, s, i, n, path + "/#", IntegerToString(index));
            if(i < 0)
               return -1;
            index++;
            i = ReplySkipWs(s, i, n);
            if(i >= n)
               return -1;
            c = StringGetCharacter(s, i);
            i++;
            if(c == ']')
               break;
            if(c != ',')
               return -1;
         }
      }
      m.depth--;
      return i;
   }
   if(c == '"') {
      string text;
      i = ReplyParseString(s, i, n, text);
      if(i < 0)
         return -1;
      BcModelValue(m, path, key, text, true);
      return i;
   }
   int start = i;
   while(i < n) {
      c = StringGetCharacter(s, i);
      if(c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
         break;
      i++;
   }
   if(i == start)
      return -1;
   BcModelValue(m, path, key, StringSubstr(s, start, i - start), false);
   return i;
}

//+------------------------------------------------------------------+
//| Loading and checking                                             |
//+------------------------------------------------------------------+
int BcIndexOf(const string &items[], const string value)
{
   for(int i = 0; i < ArraySize(items); i++)
      if(items[i] == value)
         return i;
   return -1;
}

//--- Every name, count and link the evaluation relies on; "" when the model is usable.
string BcModelCheck(BcModel &m, const string &eaFeatures[])
{
   if(m.error != "")
      return m.error;
   if(m.formatVersion != 1)
      return "format_version " + IntegerToString(m.formatVersion) + " is not 1";
   int nc = ArraySize(m.classes), nf = ArraySize(m.features);
   if(nc < 2 || m.classes[0] != "none")
      return "classes must start with none and hold an action";
   if(ArraySize(m.mean) != nf || ArraySize(m.scale) != nf)
      return "the scaler does not match the features";
   ArrayResize(m.slots, nf);
   for(int f = 0; f < nf; f++) {
      m.slots[f] = BcIndexOf(eaFeatures, m.features[f]);
      if(m.slots[f] < 0)
         return "feature " + m.features[f] + " is not compiled into this EA: generate it again";
      if(m.scale[f] == 0.0)
         return "feature " + m.features[f] + " has scale 0";
   }
   ArrayResize(m.thresholds, nc);
   ArrayInitialize(m.thresholds, 0.5);
   m.thresholds[0] = 0.0;
   for(int t = 0; t < ArraySize(g_bcPendingThresholdClass); t++) {
      int k = BcIndexOf(m.classes, g_bcPendingThresholdClass[t]);
      if(k <= 0)
         return "a threshold for class " + g_bcPendingThresholdClass[t] + " the model lacks";
      m.thresholds[k] = g_bcPendingThreshold[t];
   }
   if((m.hasSl && ArraySize(m.slCoef) != nf) || (m.hasTp && ArraySize(m.tpCoef) != nf))
      return "a stop regressor does not match the features";
   if(m.maxTickets < 1)
      return "max_tickets must be at least 1";
   if(m.family == "linear") {
      if(ArraySize(m.coef) != nc * nf || ArraySize(m.intercepts) != nc)
         return "linear coefficients do not match the classes and features";
      return "";
   }
   if(m.family != "lightgbm" && m.family != "xgboost" && m.family != "catboost")
      return "unknown estimator family " + m.family;
   if(m.numClass != nc)
      return "num_class does not match the classes";
   if(ArraySize(m.intercepts) == 0) {
      ArrayResize(m.intercepts, nc);
      ArrayInitialize(m.intercepts, 0.0);
   }
   if(ArraySize(m.intercepts) != nc)
      return "tree intercepts do not match the classes";
   int trees = ArraySize(m.treeRoot);
   if(trees == 0 || trees % nc != 0)
      return "the tree count is not a multiple of the class count";
   for(int node = 0; node < ArraySize(m.nodeLeft); node++) {
      bool leaf = m.nodeLeft[node] < 0 && m.nodeRight[node] < 0;
      if(leaf)
         continue;
      if(m.nodeLeft[node] < 0 || m.nodeRight[node] < 0)
         return "a tree node lacks a child";
      if(m.nodeFeature[node] < 0 || m.nodeFeature[node] >= nf)
         return "a tree splits on a feature the model lacks";
   }
   return "";
}

//--- Parses text into m; false (and m.error set) when the text is not a usable model.
bool BcModelParse(BcModel &m, const string text, const string &eaFeatures[])
{
   BcModelReset(m);
   ArrayResize(g_bcPendingThresholdClass, 0);
   ArrayResize(g_bcPendingThreshold, 0);
   int n = StringLen(text);
   int end = BcJsonWalk(m, text, 0, n, "", "");
   if(end < 0 || ReplySkipWs(text, end, n) != n) {
      m.error = "not valid JSON (a truncated or corrupt file?)";
      return false;
   }
   m.error = BcModelCheck(m, eaFeatures);
   return m.error == "";
}

//--- Reads MQL4/Files/<file> (UTF-8) into m.
bool BcModelLoad(BcModel &m, const string file, const string &eaFeatures[])
{
   uchar bytes[];
   int len = 0;
   if(!FileIsExist(file)) {
      m.error = "no file " + file;
      return false;
   }
   if(!BcFileReadBytes(file, bytes, len) || len == 0) {
      m.error = "cannot read " + file;
      return false;
   }
   return BcModelParse(m, CharArrayToString(bytes, 0, len, CP_UTF8), eaFeatures);
}

//+------------------------------------------------------------------+
//| Evaluation (trainers/model_eval.py)                              |
//+------------------------------------------------------------------+
double BcLeafValue(BcModel &m, int node, const double &x[])
{
   while(m.nodeLeft[node] >= 0) {
      double v = x[m.nodeFeature[node]];
      bool isNan = !MathIsValidNumber(v);
      bool missing = false;
      if(m.nodeMissing[node] == BC_MISSING_NAN)
         missing = isNan;
      else {
         if(isNan)
            v = 0.0;
         if(m.nodeMissing[node] == BC_MISSING_ZERO)
            missing = MathAbs(v) <= 1e-35;
      }
      bool left = missing ? m.nodeDefaultLeft[node] : (v <= m.nodeThreshold[node]);
      node = left ? m.nodeLeft[node] : m.nodeRight[node];
   }
   return m.nodeValue[node];
}

//--- Class probabilities of the model's own feature vector x (raw values, model order).
void BcModelProba(BcModel &m, const double &x[], double &proba[])
{
   int nc = ArraySize(m.classes), nf = ArraySize(m.features);
   double raw[];
   ArrayResize(raw, nc);
   if(m.family == "linear") {
      for(int k = 0; k < nc; k++) {
         raw[k] = m.intercepts[k];
         for(int f = 0; f < nf; f++)
            raw[k] += m.coef[k * nf + f] * ((x[f] - m.mean[f]) / m.scale[f]);
      }
   } else {
      for(int k = 0; k < nc; k++)
         raw[k] = m.intercepts[k];
      for(int t = 0; t < ArraySize(m.treeRoot); t++)
         raw[t % nc] += BcLeafValue(m, m.treeRoot[t], x);
   }
   double top = raw[0];
   for(int k = 1; k < nc; k++)
      top = MathMax(top, raw[k]);
   double total = 0.0;
   ArrayResize(proba, nc);
   for(int k = 0; k < nc; k++) {
      proba[k] = MathExp(raw[k] - top);
      total += proba[k];
   }
   for(int k = 0; k < nc; k++)
      proba[k] /= total;
}

//--- A stop regressor's distance (price units, >= 0) on the model's scaled features.
double BcStopDistance(BcModel &m, bool stopLoss, const double &x[])
{
   double value = stopLoss ? m.slIntercept : m.tpIntercept;
   int nf = ArraySize(m.features);
   for(int f = 0; f < nf; f++) {
      double z = (x[f] - m.mean[f]) / m.scale[f];
      value += (stopLoss ? m.slCoef[f] : m.tpCoef[f]) * z;
   }
   return MathMax(value, 0.0);
}

//--- The symbol's risk-parity weight over an equal split; 1 without risk parity.
double BcRiskWeight(BcModel &m, const string symbol)
{
   int k = BcIndexOf(m.paritySymbols, symbol);
   if(k < 0 || ArraySize(m.parityWeights) != ArraySize(m.paritySymbols))
      return 1.0;
   return m.parityWeights[k] * ArraySize(m.paritySymbols);
}
