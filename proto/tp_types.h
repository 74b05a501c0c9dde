/* tp_types.h: registry of every protobuf message type trustportal writes or sends,
 * so tools can decode an event payload by its type name. */
#ifndef TP_TYPES_H
#define TP_TYPES_H
#include <protobuf-c/protobuf-c.h>

/**
 * @brief Find the descriptor of an event or command type.
 * @param[in] service service name, e.g. "order" (its proto package is "tp.<service>"),
 *            or NULL to search every package
 * @param[in] type short message name, e.g. "OrderPlaced", or a full name "tp.order.OrderPlaced"
 * @return the descriptor, or NULL when unknown
 */
const ProtobufCMessageDescriptor *tp_types_find(const char *service, const char *type);

/** All registered descriptors, NULL-terminated. */
extern const ProtobufCMessageDescriptor *const tp_types_all[];
#endif
