/*
 * version.h - what --version prints: crmkit's version and that of each
 * library linked, at run time where the library reports one (a shared
 * library upgraded under the program shows its new version), else the
 * version of the headers it was built with, said as such.
 */
#ifndef CRM_VERSION_H
#define CRM_VERSION_H

#include <stdio.h>

void crm_print_versions(FILE *fp);

#endif
