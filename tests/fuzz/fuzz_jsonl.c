/* fuzz_jsonl.c - the JSON lines reader of crm-import (lib/rec.c via cJSON):
 * see rec_common.h. */
#define REC_FUZZ_FORMAT REC_JSONL
#include "rec_common.h"
