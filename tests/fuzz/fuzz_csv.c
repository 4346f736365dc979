/* fuzz_csv.c - the CSV reader of crm-import (lib/rec.c via libcsv): see
 * rec_common.h. */
#define REC_FUZZ_FORMAT REC_CSV
#include "rec_common.h"
