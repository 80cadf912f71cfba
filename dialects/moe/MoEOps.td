#ifndef MOEC_DIALECT_MOE_MOEOPS_TD
#define MOEC_DIALECT_MOE_MOEOPS_TD

include "MoEAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

#endif // MOEC_DIALECT_MOE_MOEOPS_TD
