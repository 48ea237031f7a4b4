#ifndef STRATOS_CLIBPQ_SHIM_H
#define STRATOS_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
