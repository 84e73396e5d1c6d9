// Which entities an ingest item names (DESIGN §4): an item feeds the fleet and each entity it
// names — provider, region, zone, node, gpu, replica, model (name@version), route and each
// dependency. Empty fields name nothing.
//
// Thread safety: free functions.

#ifndef CANDOR_COLLECTOR_ENTITIES_H_
#define CANDOR_COLLECTOR_ENTITIES_H_

#include <vector>

#include "candor/v1/ingest.pb.h"
#include "common/entity.h"

namespace candor::collector {

// The fleet first, then the named entities in a fixed order (provider, region, zone, node,
// gpu, replica, model, route, dependencies in call order), without duplicates. Annotations
// name exactly their `entity` (an unparsable one names nothing).
std::vector<EntityId> EntitiesOf(const candor::v1::IngestItem& item);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_ENTITIES_H_
